// Bad input through the data commands: each case is one clear line and exit code 2, or a
// skipped-and-counted line, never a stack trace or data lost with exit code 0 (issue 12).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './cli-harness';

const tempDir = () => mkdtemp(join(tmpdir(), 'gap-relm-bad-'));
const PAIR = JSON.stringify({ source: '我朋唷打算去法国', target: '我朋友打算去法国' });

describe('two outputs, or an output and an input, naming the same file', () => {
  it.each([
    ['align --output X --rejects X', (d: string) => ['align', '--input', join(d, 'in.jsonl'), '--output', join(d, 'x'), '--rejects', join(d, 'x')], '--output and --rejects name the same file'],
    ['align --input X --output X', (d: string) => ['align', '--input', join(d, 'in.jsonl'), '--output', join(d, 'in.jsonl')], '--input and --output name the same file'],
    ['compile --input X --output X', (d: string) => ['compile', '--input', join(d, 'in.jsonl'), '--output', join(d, 'in.jsonl')], '--input and --output name the same file'],
    ['eval --json X --pred X', (d: string) => ['eval', '--gold', join(d, 'in.jsonl'), '--pred', join(d, 'in.jsonl'), '--json', join(d, 'in.jsonl')], '--gold and --pred name the same file'],
    ['predict --output X --edits X', (d: string) => ['predict', '--model', d, '--text', '你好', '--output', join(d, 'o'), '--edits', join(d, 'o')], '--output and --edits name the same file'],
    ['tune --output X --dev X', (d: string) => ['tune', '--model', d, '--dev', join(d, 'in.jsonl'), '--output', join(d, 'in.jsonl')], '--dev and --output name the same file'],
  ])('%s is refused and nothing is written', async (_name, argv, message) => {
    const dir = await tempDir();
    await writeFile(join(dir, 'in.jsonl'), `${PAIR}\n`);
    const { code, stderr } = await cli(...argv(dir));
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(await readFile(join(dir, 'in.jsonl'), 'utf8')).toBe(`${PAIR}\n`);
    expect(existsSync(join(dir, 'x'))).toBe(false);
  });
});

describe('compile --format auto', () => {
  it('one 4-column line does not switch a TSV to MuCGEC: the good pairs are compiled and the choice is reported', async () => {
    const dir = await tempDir();
    const input = join(dir, 'pairs.tsv');
    const pairs = Array.from({ length: 12 }, (_, i) => `我朋唷打算去法国${i}\t我朋友打算去法国${i}`);
    await writeFile(input, [...pairs.slice(0, 3), 'a\tb\tc\td', ...pairs.slice(3)].join('\n'));
    const { code, stdout, stderr } = await cli('compile', '--input', input, '--output', join(dir, 'out.jsonl'), '--no-progress', '--threads', '1');
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('compile: --format auto chose tsv: 12 of the first 13 non-blank lines are source<TAB>target');
    expect(JSON.parse(stdout)).toMatchObject({ format: 'tsv', written: 12 });
  });

  it.each([
    ['an empty file', ''],
    ['a file with no tab', '今天天气很好。\n我们去公园。\n'],
  ])('%s is one error line and exit code 2', async (_name, content) => {
    const dir = await tempDir();
    const input = join(dir, 'in.txt');
    await writeFile(input, content);
    const { code, stderr } = await cli('compile', '--input', input, '--output', join(dir, 'out.jsonl'), '--no-progress');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^gap-relm: --format auto: .*in\.txt.*pass format\n$/);
  });
});
