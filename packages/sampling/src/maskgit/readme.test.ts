import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it, vi } from 'vitest';

// The README's MaskGIT example must run as written and print what its comments say.
const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const example = /## MaskGIT with classifier-free guidance[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
const dir = mkdtempSync(join(tmpdir(), 'sampling-maskgit-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('README MaskGIT example runs and prints its commented outputs', async () => {
  expect(example).toBeDefined();
  const expected = [...example!.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
  expect(expected).toHaveLength(3);
  // Imported through this folder's barrel, which the package entry re-exports.
  const barrel = fileURLToPath(new URL('./index.ts', import.meta.url));
  const file = join(dir, 'example.ts');
  writeFileSync(file, example!.replace("from '@proj/sampling'", `from ${JSON.stringify(barrel)}`));
  const printed: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(format(...args)));
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    spy.mockRestore();
  }
  expect(printed).toEqual(expected);
});
