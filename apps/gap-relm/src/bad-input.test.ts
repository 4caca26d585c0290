// Bad input through the data commands: each case is one clear line and exit code 2, or a
// skipped-and-counted line, never a stack trace or data lost with exit code 0 (issue 12).
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildExample } from '@proj/align';
import { cli } from './cli-harness';
import { userFsError } from './cli-io';

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
    await writeFile(join(dir, 'gap_relm_config.json'), '{}'); // enough for predict and tune to get to their file checks
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

describe('one error line and exit code 2, never a stack trace', () => {
  /** A scratch dir with a file `f.txt`, a dir `d/`, a pairs file and a fake model dir (config only). */
  async function scratch() {
    const dir = await tempDir();
    await writeFile(join(dir, 'f.txt'), '今天天气很好。\n');
    await mkdir(join(dir, 'd'));
    await writeFile(join(dir, 'pairs.tsv'), '他门来了\t他们来了\n');
    await mkdir(join(dir, 'run', 'final'), { recursive: true });
    await writeFile(join(dir, 'run', 'final', 'gap_relm_config.json'), '{}');
    return dir;
  }
  const model = (d: string) => join(d, 'run', 'final');
  it.each<[string, (d: string) => string[], (d: string) => string]>([
    ['a directory as an input file', (d) => ['align', '--input', join(d, 'd'), '--output', join(d, 'o.jsonl')], (d) => `--input: ${join(d, 'd')} is a directory, expected a file`],
    ['a directory as --clean-file', (d) => ['synth', '--clean-file', join(d, 'd'), '--output-dir', join(d, 'o')], (d) => `--clean-file: ${join(d, 'd')} is a directory, expected a file`],
    ['a directory as --confusion-file', (d) => ['synth', '--clean-file', join(d, 'f.txt'), '--confusion-file', join(d, 'd'), '--output-dir', join(d, 'o')], (d) => `--confusion-file: ${join(d, 'd')} is a directory, expected a file`],
    ['a directory as an output file', (d) => ['align', '--input', join(d, 'f.txt'), '--output', join(d, 'd')], (d) => `--output: ${join(d, 'd')} is a directory, expected a file to write`],
    ['a directory as --json', (d) => ['eval', '--gold', join(d, 'pairs.tsv'), '--pred', join(d, 'f.txt'), '--json', join(d, 'd')], (d) => `--json: ${join(d, 'd')} is a directory, expected a file to write`],
    ['a file as --output-dir', (d) => ['synth', '--clean-file', join(d, 'f.txt'), '--output-dir', join(d, 'f.txt')], (d) => `--output-dir: ${join(d, 'f.txt')} is a file, expected a directory`],
    ['a file as a parent of an output', (d) => ['predict', '--model', model(d), '--text', '你好', '--output', join(d, 'f.txt', 'out.txt')], (d) => `--output: ${join(d, 'f.txt')} is a file, expected a directory (writing ${join(d, 'f.txt', 'out.txt')})`],
    ['a file as --model', (d) => ['predict', '--model', join(d, 'f.txt'), '--text', '你好'], (d) => `--model: ${join(d, 'f.txt')} is a file, expected a directory`],
    ['a run directory as --model', (d) => ['predict', '--model', join(d, 'run'), '--text', '你好'], (d) => `--model: ${join(d, 'run')} is not a Gap-ReLM model directory (no gap_relm_config.json); ${model(d)} has one`],
    ['a missing SIGHAN truth file', (d) => ['compile', '--input', join(d, 'TestInput.txt'), '--output', join(d, 'o.jsonl')], (d) => `--truth: truth file ${join(d, 'TestTruth.txt')} for ${join(d, 'TestInput.txt')} does not exist; pass truth`],
    ['--providers tpu', (d) => ['predict', '--model', model(d), '--text', '你好', '--engine', 'onnx', '--providers', 'tpu'], () => '--providers: unknown execution provider "tpu"; onnxruntime-node knows '],
    ['tune --grid ""', (d) => ['tune', '--model', model(d), '--dev', join(d, 'pairs.tsv'), '--grid', ''], () => '--grid: expected comma-separated numbers in [0, 1], got ""'],
    ['tune --beta 0', (d) => ['tune', '--model', model(d), '--dev', join(d, 'pairs.tsv'), '--beta', '0'], () => '--beta must be a number > 0, got "0"'],
    ['train --fp16', (d) => ['train', '--fp16', '--backend', 'cpu', '--output-dir', join(d, 'o')], () => '--fp16 is set but the tfjs backend "cpu" trains in float32 only; drop --fp16'],
  ])('%s', async (_name, argv, message) => {
    const dir = await scratch();
    await writeFile(join(dir, 'TestInput.txt'), '(pid=1)\t他门来了\n');
    const { code, stdout, stderr } = await cli(...argv(dir));
    expect(stderr).toContain(message(dir));
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code).toBe(2);
    expect(stdout).toBe('');
  });
});

describe('userFsError', () => {
  it('turns a file-system error on a user path into one line, and leaves other errors alone', () => {
    const error = Object.assign(new Error('EISDIR: illegal operation on a directory, read'), { code: 'EISDIR', path: '/data/x', syscall: 'read' });
    expect(userFsError(error)).toBe('/data/x: is a directory, expected a file (EISDIR in read)');
    expect(userFsError(new RangeError('bug'))).toBeNull();
    expect(userFsError(Object.assign(new Error('x'), { code: 'ERR_SOMETHING', path: '/x' }))).toBeNull();
  });
});

describe('bad bytes and empty input', () => {
  it('a line with bytes that are not UTF-8 is read, counted and reported with file:line', async () => {
    const dir = await tempDir();
    const input = join(dir, 'pairs.jsonl');
    await writeFile(input, Buffer.concat([Buffer.from(`${PAIR}\n`), Buffer.from('{"source":"他门'), Buffer.from([0xff, 0xfe]), Buffer.from('来了","target":"他们来了"}\n')]));
    const { code, stderr } = await cli('align', '--input', input, '--output', join(dir, 'out.jsonl'));
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`align: warning: 1 line with bytes that are not UTF-8, read with U+FFFD in their place: ${input}:2`);
  });

  it('a binary file given as text is refused', async () => {
    const dir = await tempDir();
    const input = join(dir, 'model.bin');
    await writeFile(input, Buffer.from([0x7b, 0x00, 0x01, 0x02, 0x0a]));
    const { code, stderr } = await cli('align', '--input', input, '--output', join(dir, 'out.jsonl'));
    expect(code).toBe(2);
    expect(stderr).toBe(`gap-relm: --input: ${input} is not a text file (a NUL byte at offset 1); expected UTF-8 text\n`);
  });

  it('an empty input is a warning; eval of zero sentences is an error, not all-zero metrics', async () => {
    const dir = await tempDir();
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '\n\n');
    const aligned = await cli('align', '--input', empty, '--output', join(dir, 'out.jsonl'));
    expect(aligned.code).toBe(0);
    expect(aligned.stderr).toContain(`align: warning: ${empty} is empty (no line with text)`);
    await writeFile(join(dir, 'pred.txt'), '');
    const evaluated = await cli('eval', '--gold', empty, '--pred', join(dir, 'pred.txt'));
    expect(evaluated.code).toBe(2);
    expect(evaluated.stdout).toBe('');
    expect(evaluated.stderr).toContain(`gap-relm: --gold: ${empty} has no source<TAB>target pair to score`);
  });

  it('one bad line in train --train-file is skipped and counted, not fatal', async () => {
    const dir = await tempDir();
    const file = join(dir, 'train.jsonl');
    const good = [
      ['我朋唷打算去法国', '我朋友打算去法国'],
      ['他门来了', '他们来了'],
      ['今天天气很好', '今天天气很好'],
    ].map(([source, target]) => {
      const result = buildExample(source, target);
      if (!result.ok) throw new Error(result.reason);
      return JSON.stringify(result.example);
    });
    await writeFile(file, [good[0], '{"source": "缺字段"', good[1], '{"source":"a","target":"a"}', good[2]].join('\n'));
    const tiny = ['--hidden-size', '16', '--num-hidden-layers', '1', '--num-attention-heads', '2', '--intermediate-size', '32', '--prompt-length', '1'];
    const { code, stderr } = await cli('train', '--train-file', file, '--dev-file', file, '--output-dir', join(dir, 'run'), '--stages', 'infiller_pretrain', '--max-steps', '1', '--backend', 'cpu', '--no-progress', ...tiny);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('train: skipped 4 (bad_record: 4)'); // two bad lines, in the train and the dev pass
    expect(stderr).toContain(`${file}:2: invalid JSON`);
    expect(stderr).toContain('record 3: expected an array in field "op_labels"');
  }, 60_000);
});

describe('one huge line', () => {
  it('synth skips and counts a line over the 1 MiB line limit instead of holding it', async () => {
    const dir = await tempDir();
    const clean = join(dir, 'clean.txt');
    await writeFile(clean, `今天天气很好。\n${'长'.repeat(600_000)}\n我们去公园散步。\n`);
    const { code, stdout, stderr } = await cli('synth', '--clean-file', clean, '--output-dir', dir, '--no-progress', '--threads', '1');
    expect(code, stderr).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.sentences).toBe(2);
    expect(summary.skipped).toMatchObject({ count: 1 });
    expect(stderr).toContain(`${clean}:2: 1800000 bytes, over the 1048576-byte line limit`);
  });
});
