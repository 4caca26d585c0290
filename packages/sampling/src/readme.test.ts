import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it, vi } from 'vitest';

// Each README example must run as written (importing '@proj/sampling') and print what its
// `console.log(...); // output` comments say.
const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'sampling-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it.each([
  { heading: 'Example', file: 'gap-relm.ts' },
  { heading: 'Autoregressive sampling', file: 'autoregressive.ts' },
  { heading: 'MaskGIT with classifier-free guidance', file: 'maskgit.ts' },
])('README "## $heading" example runs and prints its commented outputs', async ({ heading, file }) => {
  const example = new RegExp(`## ${heading}\\n[\\s\\S]*?\`\`\`ts\\n([\\s\\S]*?)\`\`\``).exec(readme)?.[1];
  expect(example).toBeDefined();
  const expected = [...example!.matchAll(/console\.log\(.*\); \/\/ (.*)$/gm)].map((m) => m[1]);
  expect(expected.length).toBeGreaterThanOrEqual(3);
  const path = join(dir, file);
  writeFileSync(path, example!);
  const printed: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(format(...args)));
  try {
    await import(/* @vite-ignore */ path);
  } finally {
    spy.mockRestore();
  }
  expect(printed).toEqual(expected);
});
