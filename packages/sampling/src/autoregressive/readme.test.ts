import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it, vi } from 'vitest';

// The README's autoregressive example must run as written and print what its comments say. It
// imports '@proj/sampling'; that is pointed at this folder's barrel, so the test holds before and
// after src/index.ts re-exports it.
const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const example = /## Autoregressive sampling[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
const barrel = fileURLToPath(new URL('./index.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sampling-ar-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('README autoregressive example runs and prints its commented outputs', async () => {
  expect(example).toBeDefined();
  const expected = [...example!.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
  expect(expected.length).toBeGreaterThanOrEqual(3);
  const file = join(dir, 'example.ts');
  writeFileSync(file, example!.replace(`from '@proj/sampling'`, `from ${JSON.stringify(barrel)}`));
  const printed: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(format(...args)));
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    spy.mockRestore();
  }
  expect(printed.join(' | ')).toBe(expected.join(' | '));
});
