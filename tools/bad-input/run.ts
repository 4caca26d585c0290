// The bad-input table of issue 12: scripted bad input through every `gap-relm` command, and
// malformed requests and slow clients against `gap-relm serve` on 127.0.0.1. Each case runs the
// built binary (apps/gap-relm/dist/cli.js) in a child process with a time limit, and is classed:
//   ok           exit 0 and the output is whole (its check passed; bad lines skipped and counted)
//   clear error  exit 2 with one line "gap-relm: ..." on stderr and nothing on stdout
//   stack trace  a stack trace, exit 1, a signal or the time limit
//   silent loss  exit 0 but data lost (the case's check failed), or an error case accepted
// Prints a Markdown table and the tally; exits 1 when any case is a stack trace or a silent loss.
// Bounded: every child has --case-seconds (default 120), the whole run writes only under a temp
// dir (removed at the end), the server listens on 127.0.0.1 only.
// Run from the repo root after `npx nx run-many -t build --projects=gap-relm`:
//   npx tsx tools/bad-input/run.ts [--case-seconds 120] [--markdown docs/bad-input-table.md]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag } from '../bench/int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const cliPath = join(root, 'apps/gap-relm/dist/cli.js');
const corpus = join(root, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt');
const caseSeconds = intFlag('bad-input', 'case-seconds', 120);
const markdownAt = process.argv.indexOf('--markdown');
const markdownOut = markdownAt < 0 ? undefined : process.argv[markdownAt + 1];

type Outcome = 'ok' | 'clear error' | 'stack trace' | 'silent loss';
interface Run {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}
interface Case {
  command: string;
  name: string;
  args: string[];
  /** What a correct toolkit does: refuse it (exit 2), or take it (exit 0; then `check` looks for lost data). */
  expect: 'error' | 'ok';
  /** For `ok` cases: a description of lost data, or null when the output is whole. */
  check?: (run: Run) => Promise<string | null> | string | null;
}

function runCli(args: string[], seconds = caseSeconds): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, seconds * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const STACK = /\n\s+at .+(:\d+:\d+\)?|\(native\)|\(node:)/;
function classify(c: Case, run: Run, loss: string | null): { outcome: Outcome; note: string } {
  const firstLine = run.stderr.trim().split('\n').at(-1) ?? '';
  if (run.timedOut) return { outcome: 'stack trace', note: `no answer in ${caseSeconds} s` };
  if (run.signal !== null) return { outcome: 'stack trace', note: `killed by ${run.signal}` };
  if (STACK.test(run.stderr) || run.code === 1) return { outcome: 'stack trace', note: firstLine.slice(0, 120) };
  if (run.code === 2) {
    const lines = run.stderr.trim().split('\n').filter((l) => l.startsWith('gap-relm: ') || l.startsWith('error: '));
    return run.stdout === '' && lines.length >= 1
      ? { outcome: c.expect === 'error' ? 'clear error' : 'silent loss', note: lines[0].slice(0, 120) }
      : { outcome: 'stack trace', note: `exit 2 without one error line: ${firstLine.slice(0, 100)}` };
  }
  if (run.code === 0 && c.expect === 'error') return { outcome: 'silent loss', note: 'accepted (exit 0) where an error was due' };
  if (run.code === 0 && loss !== null) return { outcome: 'silent loss', note: loss };
  if (run.code === 0) return { outcome: 'ok', note: (run.stderr.split('\n').find((l) => /skipped|warning|unchanged|reject/.test(l)) ?? '').slice(0, 120) };
  return { outcome: 'stack trace', note: `exit ${run.code}: ${firstLine.slice(0, 100)}` };
}

// ---- fixtures (all under one temp dir) ----
const work = await mkdtemp(join(tmpdir(), 'gap-relm-bad-input-'));
const at = (name: string) => join(work, name);
const lines = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter((l, i, all) => i < all.length - 1 || l !== '');

if (!existsSync(cliPath)) {
  console.error(`bad-input: ${cliPath} is missing; build it first: npx nx run-many -t build --projects=gap-relm`);
  process.exit(2);
}

const clean = (await readFile(corpus, 'utf8')).split('\n').filter((s) => s.trim() !== '').slice(0, 200);
const PAIRS = [
  ['我朋唷打算去法国', '我朋友打算去法国'],
  ['他门来了', '他们来了'],
  ['今天天气很好', '今天天气很好'],
  ['我们去公圆散步', '我们去公园散步'],
];
await writeFile(at('clean.txt'), `${clean.join('\n')}\n`);
await writeFile(at('pairs.jsonl'), PAIRS.map(([source, target]) => JSON.stringify({ source, target })).join('\n') + '\n');
await writeFile(at('pairs.tsv'), PAIRS.map((p) => p.join('\t')).join('\n') + '\n');
await writeFile(at('pred.txt'), PAIRS.map((p) => p[1]).join('\n') + '\n');
await writeFile(at('empty.txt'), '');
await writeFile(at('blank.txt'), '\n\n\n');
await writeFile(at('binary.bin'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x00, 0x01, 0x02, 0x0a, 0x00]));
await writeFile(at('latin1.tsv'), Buffer.concat([Buffer.from('他门来了\t他们来了\n'), Buffer.from([0xc4, 0xe3, 0xba, 0xc3, 0x09, 0x61, 0x0a]), Buffer.from('今天天气很好\t今天天气很好\n')]));
await writeFile(at('latin1-pred.txt'), '他们来了\nx\n今天天气很好\n');
await writeFile(at('huge.txt'), `${clean[0]}\n${'长'.repeat(2_000_000)}\n${clean[1]}\n`);
await writeFile(at('ragged.txt'), ['他门来了', '', '我朋唷打算去法国', 'a\tb\tc\td', '   ', '今天天气很好'].join('\n') + '\n');
await writeFile(at('mixed.jsonl'), [JSON.stringify({ source: '他门来了', target: '他们来了' }), '{bad json', JSON.stringify({ source: 'x' }), '[1,2]', JSON.stringify({ source: '我去', target: '我想要马上就去' })].join('\n') + '\n');
await writeFile(at('mostly-pairs.tsv'), [...PAIRS.map((p) => p.join('\t')), 'a\tb\tc\td', ...PAIRS.map((p) => p.join('\t'))].join('\n') + '\n');
await writeFile(at('prose.txt'), '今天天气很好。\n我们去公园。\n');
await writeFile(at('TestInput.txt'), '(pid=1)\t他门来了\n');
await writeFile(at('thresholds-types.json'), JSON.stringify({ bestConfig: { deleteThreshold: 'high', insertThreshold: 0.5, replaceThreshold: 0.5 } }));
await writeFile(at('thresholds-bad.json'), '{"bestConfig": ');
await writeFile(at('a-file'), 'not a directory\n');
await mkdir(at('a-dir'));
await writeFile(at('confusion-bad.txt'), '的\n');

console.error('bad-input: synthesizing a train file and training a tiny model for the model commands (about a minute)');
const synth = await runCli(['synth', '--clean-file', at('clean.txt'), '--output-dir', at('synth'), '--num-negative', '1', '--no-progress', '--threads', '1']);
if (synth.code !== 0) throw new Error(`bad-input: fixture synth failed: ${synth.stderr}`);
const trainFile = join(work, 'synth', 'train.jsonl');
const trainLines = await lines(trainFile);
await writeFile(at('train-one-bad.jsonl'), [...trainLines.slice(0, 40), '{"source": "坏', ...trainLines.slice(40, 80)].join('\n') + '\n');
const TINY = ['--hidden-size', '16', '--num-hidden-layers', '1', '--num-attention-heads', '2', '--intermediate-size', '32', '--prompt-length', '1', '--backend', 'cpu', '--no-progress'];
const trained = await runCli(['train', '--train-file', at('train-one-bad.jsonl'), '--dev-file', trainFile, '--dev-eval-limit', '8', '--output-dir', at('run'), '--stage-max-steps', '2,2,2', '--batch-size', '8', ...TINY]);
if (trained.code !== 0) throw new Error(`bad-input: fixture train failed: ${trained.stderr}`);
const model = at('run/final');

const stdoutLines = (want: number) => (run: Run) => {
  const got = run.stdout === '' ? 0 : run.stdout.replace(/\n$/, '').split('\n').length;
  return got === want ? null : `${got} lines out for ${want} in`;
};
const jsonField = (field: string, want: number) => (run: Run) => {
  try {
    const value = JSON.parse(run.stdout)[field];
    return value === want ? null : `${field} ${value}, expected ${want}`;
  } catch {
    return `stdout is not the JSON summary: ${run.stdout.slice(0, 80)}`;
  }
};
const P = ['--backend', 'cpu', '--no-progress'];

const cases: Case[] = [
  // synth
  { command: 'synth', name: 'missing --clean-file', args: ['synth', '--clean-file', at('nope.txt'), '--output-dir', at('s1')], expect: 'error' },
  { command: 'synth', name: 'a directory as --clean-file', args: ['synth', '--clean-file', at('a-dir'), '--output-dir', at('s2')], expect: 'error' },
  { command: 'synth', name: 'a binary file as --clean-file', args: ['synth', '--clean-file', at('binary.bin'), '--output-dir', at('s3')], expect: 'error' },
  { command: 'synth', name: 'a file as --output-dir', args: ['synth', '--clean-file', at('clean.txt'), '--output-dir', at('a-file')], expect: 'error' },
  { command: 'synth', name: 'a directory as --confusion-file', args: ['synth', '--clean-file', at('clean.txt'), '--confusion-file', at('a-dir'), '--output-dir', at('s4')], expect: 'error' },
  { command: 'synth', name: 'missing --confusion-file', args: ['synth', '--clean-file', at('clean.txt'), '--confusion-file', at('nope.txt'), '--output-dir', at('s5')], expect: 'error' },
  { command: 'synth', name: '--pi-skip abc', args: ['synth', '--pi-skip', 'abc'], expect: 'error' },
  { command: 'synth', name: '--p-corrupt 1.5', args: ['synth', '--clean-file', at('clean.txt'), '--p-corrupt', '1.5', '--output-dir', at('s6')], expect: 'error' },
  { command: 'synth', name: '--num-negative -1', args: ['synth', '--num-negative', '-1'], expect: 'error' },
  { command: 'synth', name: '--mode bogus', args: ['synth', '--mode', 'bogus'], expect: 'error' },
  { command: 'synth', name: '--threads 0', args: ['synth', '--threads', '0'], expect: 'error' },
  { command: 'synth', name: 'one 6 MB line among good ones', args: ['synth', '--clean-file', at('huge.txt'), '--output-dir', at('s7'), '--no-progress', '--threads', '1'], expect: 'ok', check: jsonField('sentences', 2) },
  { command: 'synth', name: 'an empty --clean-file', args: ['synth', '--clean-file', at('empty.txt'), '--output-dir', at('s8'), '--no-progress'], expect: 'ok', check: jsonField('sentences', 0) },
  { command: 'synth', name: 'jsonl with bad lines', args: ['synth', '--clean-file', at('mixed.jsonl'), '--clean-file-format', 'jsonl', '--clean-text-field', 'source', '--output-dir', at('s9'), '--no-progress'], expect: 'ok', check: jsonField('sentences', 3) },
  // frozen-dev
  { command: 'frozen-dev', name: '--num-samples 0', args: ['frozen-dev', '--num-samples', '0'], expect: 'error' },
  { command: 'frozen-dev', name: 'missing --clean-file', args: ['frozen-dev', '--clean-file', at('nope.txt'), '--output-dir', at('f1')], expect: 'error' },
  { command: 'frozen-dev', name: 'a file as --output-dir', args: ['frozen-dev', '--clean-file', at('clean.txt'), '--output-dir', at('a-file')], expect: 'error' },
  // align
  { command: 'align', name: 'missing --input', args: ['align', '--input', at('nope.jsonl'), '--output', at('a1.jsonl')], expect: 'error' },
  { command: 'align', name: 'a directory as --input', args: ['align', '--input', at('a-dir'), '--output', at('a2.jsonl')], expect: 'error' },
  { command: 'align', name: 'a binary --input', args: ['align', '--input', at('binary.bin'), '--output', at('a3.jsonl')], expect: 'error' },
  { command: 'align', name: '--rejects X --output X', args: ['align', '--input', at('mixed.jsonl'), '--output', at('a4.jsonl'), '--rejects', at('a4.jsonl')], expect: 'error' },
  { command: 'align', name: '--input X --output X', args: ['align', '--input', at('pairs.jsonl'), '--output', at('pairs.jsonl')], expect: 'error' },
  { command: 'align', name: 'a directory as --output', args: ['align', '--input', at('pairs.jsonl'), '--output', at('a-dir')], expect: 'error' },
  { command: 'align', name: '--max-insert-k -1', args: ['align', '--input', at('pairs.jsonl'), '--output', at('a5.jsonl'), '--max-insert-k', '-1'], expect: 'error' },
  { command: 'align', name: 'bad JSON, missing field, too long an insert', args: ['align', '--input', at('mixed.jsonl'), '--output', at('a6.jsonl')], expect: 'ok', check: jsonField('written', 1) },
  { command: 'align', name: 'an empty --input', args: ['align', '--input', at('blank.txt'), '--output', at('a7.jsonl')], expect: 'ok', check: jsonField('written', 0) },
  { command: 'align', name: 'a 6 MB line', args: ['align', '--input', at('huge.txt'), '--output', at('a8.jsonl')], expect: 'ok', check: jsonField('written', 0) },
  // compile
  { command: 'compile', name: 'an empty file, --format auto', args: ['compile', '--input', at('empty.txt'), '--output', at('c1.jsonl'), '--no-progress'], expect: 'error' },
  { command: 'compile', name: 'prose (no tab), --format auto', args: ['compile', '--input', at('prose.txt'), '--output', at('c2.jsonl'), '--no-progress'], expect: 'error' },
  { command: 'compile', name: 'a TSV with one 4-column line, --format auto', args: ['compile', '--input', at('mostly-pairs.tsv'), '--output', at('c3.jsonl'), '--no-progress', '--threads', '1'], expect: 'ok', check: jsonField('written', 8) },
  { command: 'compile', name: 'a missing SIGHAN truth file', args: ['compile', '--input', at('TestInput.txt'), '--output', at('c4.jsonl'), '--no-progress'], expect: 'error' },
  { command: 'compile', name: '--format bogus', args: ['compile', '--input', at('pairs.tsv'), '--output', at('c5.jsonl'), '--format', 'bogus'], expect: 'error' },
  { command: 'compile', name: '--input X --output X', args: ['compile', '--input', at('pairs.tsv'), '--output', at('pairs.tsv'), '--no-progress'], expect: 'error' },
  { command: 'compile', name: 'a directory as --output', args: ['compile', '--input', at('pairs.tsv'), '--output', at('a-dir'), '--no-progress'], expect: 'error' },
  { command: 'compile', name: 'bytes that are not UTF-8', args: ['compile', '--input', at('latin1.tsv'), '--output', at('c6.jsonl'), '--no-progress', '--threads', '1'], expect: 'ok' },
  // eval
  { command: 'eval', name: 'missing --gold', args: ['eval', '--gold', at('nope.tsv'), '--pred', at('pred.txt')], expect: 'error' },
  { command: 'eval', name: '--pred shorter than --gold', args: ['eval', '--gold', at('pairs.tsv'), '--pred', at('prose.txt')], expect: 'error' },
  { command: 'eval', name: 'zero sentences', args: ['eval', '--gold', at('blank.txt'), '--pred', at('empty.txt')], expect: 'error' },
  { command: 'eval', name: 'a directory as --json', args: ['eval', '--gold', at('pairs.tsv'), '--pred', at('pred.txt'), '--json', at('a-dir')], expect: 'error' },
  { command: 'eval', name: '--json X --gold X', args: ['eval', '--gold', at('pairs.tsv'), '--pred', at('pred.txt'), '--json', at('pairs.tsv')], expect: 'error' },
  { command: 'eval', name: 'bytes that are not UTF-8 in --gold', args: ['eval', '--gold', at('latin1.tsv'), '--pred', at('latin1-pred.txt')], expect: 'ok' },
  // predict
  { command: 'predict', name: 'missing --model', args: ['predict', '--model', at('nope'), '--text', '他门来了'], expect: 'error' },
  { command: 'predict', name: 'a file as --model', args: ['predict', '--model', at('a-file'), '--text', '他门来了'], expect: 'error' },
  { command: 'predict', name: 'a run directory as --model', args: ['predict', '--model', at('run'), '--text', '他门来了'], expect: 'error' },
  { command: 'predict', name: 'missing --input', args: ['predict', '--model', model, '--input', at('nope.txt')], expect: 'error' },
  { command: 'predict', name: 'a directory as --input', args: ['predict', '--model', model, '--input', at('a-dir')], expect: 'error' },
  { command: 'predict', name: 'a binary --input', args: ['predict', '--model', model, '--input', at('binary.bin')], expect: 'error' },
  { command: 'predict', name: 'blank and malformed lines', args: ['predict', '--model', model, '--input', at('ragged.txt'), ...P], expect: 'ok', check: stdoutLines(6) },
  { command: 'predict', name: 'a malformed line comes back as it was', args: ['predict', '--model', model, '--input', at('ragged.txt'), ...P], expect: 'ok', check: (r) => (r.stdout.split('\n')[3] === 'a\tb\tc\td' ? null : `line 4 out is "${r.stdout.split('\n')[3]}"`) },
  { command: 'predict', name: 'a 6 MB line', args: ['predict', '--model', model, '--input', at('huge.txt'), ...P], expect: 'ok', check: stdoutLines(3) },
  { command: 'predict', name: 'an empty --input', args: ['predict', '--model', model, '--input', at('empty.txt'), ...P], expect: 'ok', check: stdoutLines(0) },
  { command: 'predict', name: 'bytes that are not UTF-8', args: ['predict', '--model', model, '--input', at('latin1.tsv'), ...P], expect: 'ok', check: stdoutLines(3) },
  { command: 'predict', name: '--decode-batch-size 2', args: ['predict', '--model', model, '--input', at('pairs.tsv'), '--decode-batch-size', '2', ...P], expect: 'ok', check: stdoutLines(4) },
  { command: 'predict', name: '--decode-batch-size 2 --engine onnx', args: ['predict', '--model', model, '--input', at('pairs.tsv'), '--decode-batch-size', '2', '--engine', 'onnx', '--providers', 'cpu', ...P], expect: 'ok', check: stdoutLines(4) },
  { command: 'predict', name: '--delete-threshold 2', args: ['predict', '--model', model, '--text', '他门来了', '--delete-threshold', '2'], expect: 'error' },
  { command: 'predict', name: '--refinement-rounds -1', args: ['predict', '--model', model, '--text', '他门来了', '--refinement-rounds', '-1'], expect: 'error' },
  { command: 'predict', name: '--decode-batch-size 0', args: ['predict', '--model', model, '--text', '他门来了', '--decode-batch-size', '0'], expect: 'error' },
  { command: 'predict', name: '--providers tpu', args: ['predict', '--model', model, '--text', '他门来了', '--engine', 'onnx', '--providers', 'tpu'], expect: 'error' },
  { command: 'predict', name: 'missing --thresholds', args: ['predict', '--model', model, '--text', '他门来了', '--thresholds', at('nope.json')], expect: 'error' },
  { command: 'predict', name: 'wrong types in --thresholds', args: ['predict', '--model', model, '--text', '他门来了', '--thresholds', at('thresholds-types.json')], expect: 'error' },
  { command: 'predict', name: '--thresholds not JSON', args: ['predict', '--model', model, '--text', '他门来了', '--thresholds', at('thresholds-bad.json')], expect: 'error' },
  { command: 'predict', name: '--output X --edits X', args: ['predict', '--model', model, '--text', '他门来了', '--output', at('p1.txt'), '--edits', at('p1.txt')], expect: 'error' },
  { command: 'predict', name: 'a directory as --output', args: ['predict', '--model', model, '--text', '他门来了', '--output', at('a-dir')], expect: 'error' },
  { command: 'predict', name: '--chunk 0', args: ['predict', '--model', model, '--text', '他门来了', '--chunk', '0'], expect: 'error' },
  { command: 'predict', name: '--infiller-onnx without --engine onnx', args: ['predict', '--model', model, '--text', '他门来了', '--infiller-onnx', at('a-dir')], expect: 'error' },
  // tune
  { command: 'tune', name: '--beta 0', args: ['tune', '--model', model, '--dev', at('pairs.tsv'), '--beta', '0'], expect: 'error' },
  { command: 'tune', name: "--grid ''", args: ['tune', '--model', model, '--dev', at('pairs.tsv'), '--grid', ''], expect: 'error' },
  { command: 'tune', name: '--grid 2', args: ['tune', '--model', model, '--dev', at('pairs.tsv'), '--grid', '2'], expect: 'error' },
  { command: 'tune', name: 'missing --dev', args: ['tune', '--model', model, '--dev', at('nope.tsv')], expect: 'error' },
  { command: 'tune', name: '--dev without pairs', args: ['tune', '--model', model, '--dev', at('prose.txt')], expect: 'error' },
  { command: 'tune', name: 'a directory as --output', args: ['tune', '--model', model, '--dev', at('pairs.tsv'), '--output', at('a-dir')], expect: 'error' },
  { command: 'tune', name: '--decode-batch-size 2', args: ['tune', '--model', model, '--dev', at('pairs.tsv'), '--grid', '0.5', '--decode-batch-size', '2', '--output', at('t1.json'), '--backend', 'cpu'], expect: 'ok' },
  // train
  { command: 'train', name: '--fp16', args: ['train', '--fp16', '--output-dir', at('r1'), '--backend', 'cpu'], expect: 'error' },
  { command: 'train', name: 'missing --resume-from', args: ['train', '--resume-from', at('nope'), '--output-dir', at('r2')], expect: 'error' },
  { command: 'train', name: '--resume-from a directory that is no run', args: ['train', '--resume-from', at('a-dir'), '--output-dir', at('r3')], expect: 'error' },
  { command: 'train', name: '--stages bogus', args: ['train', '--stages', 'bogus'], expect: 'error' },
  { command: 'train', name: '--stage-max-steps with too few values', args: ['train', '--stage-max-steps', '1'], expect: 'error' },
  { command: 'train', name: 'missing --train-file', args: ['train', '--train-file', at('nope.jsonl'), '--dev-file', trainFile, '--output-dir', at('r4'), '--backend', 'cpu'], expect: 'error' },
  { command: 'train', name: 'a directory as --dev-file', args: ['train', '--dev-file', at('a-dir'), '--output-dir', at('r5'), '--backend', 'cpu'], expect: 'error' },
  { command: 'train', name: 'a file as --output-dir', args: ['train', '--output-dir', at('a-file')], expect: 'error' },
  { command: 'train', name: '--hidden-size 30 --num-attention-heads 4', args: ['train', '--hidden-size', '30', '--num-attention-heads', '4', '--output-dir', at('r6')], expect: 'error' },
  { command: 'train', name: '--batch-size 0', args: ['train', '--batch-size', '0', '--output-dir', at('r7')], expect: 'error' },
  { command: 'train', name: 'one bad line in --train-file (synth output, infiller_pretrain)', args: ['train', '--train-file', at('train-one-bad.jsonl'), '--dev-file', trainFile, '--dev-eval-limit', '4', '--output-dir', at('r8'), '--stages', 'infiller_pretrain', '--max-steps', '3', '--batch-size', '4', ...TINY], expect: 'ok', check: (r) => (/skipped 1 \(bad_record: 1\)/.test(r.stderr) ? null : 'the bad record was not reported') },
  { command: 'train', name: '--resume-from a checkpoint directory, into a new --output-dir', args: ['train', '--train-file', at('train-one-bad.jsonl'), '--dev-file', trainFile, '--dev-eval-limit', '8', '--output-dir', at('r9'), '--stage-max-steps', '2,2,2', '--batch-size', '8', '--resume-from', join(work, 'run', 'planner_train', 'checkpoint-2'), ...TINY], expect: 'ok', check: () => (!existsSync(at('r9/infiller_pretrain')) && existsSync(at('r9/planner_train/gap_relm_stage.json')) ? null : 'trained from scratch instead of resuming') },
  { command: 'train', name: '--resume-from an earlier stage\'s checkpoint of the same run', args: ['train', '--train-file', at('train-one-bad.jsonl'), '--dev-file', trainFile, '--output-dir', at('run'), '--stage-max-steps', '2,2,2', '--batch-size', '8', '--resume-from', join(work, 'run', 'planner_train', 'checkpoint-2'), ...TINY], expect: 'error' },
  // export
  { command: 'export', name: 'missing --model', args: ['export', '--model', at('nope')], expect: 'error' },
  { command: 'export', name: 'a run directory as --model', args: ['export', '--model', at('run')], expect: 'error' },
  { command: 'export', name: 'a file as --output', args: ['export', '--model', model, '--output', at('a-file'), '--backend', 'cpu'], expect: 'error' },
  { command: 'export', name: 'wrong types in --thresholds', args: ['export', '--model', model, '--output', at('e1'), '--thresholds', at('thresholds-types.json'), '--backend', 'cpu'], expect: 'error' },
  // serve (flags: refused before listening)
  { command: 'serve', name: '--port 70000', args: ['serve', '--model', model, '--port', '70000'], expect: 'error' },
  { command: 'serve', name: '--max-batch-texts 0', args: ['serve', '--model', model, '--max-batch-texts', '0'], expect: 'error' },
  { command: 'serve', name: '--decode-batch-size 0', args: ['serve', '--model', model, '--port', '0', '--decode-batch-size', '0'], expect: 'error' },
  { command: 'serve', name: '--headers-timeout-ms over --request-timeout-ms', args: ['serve', '--model', model, '--port', '0', '--providers', 'cpu', '--headers-timeout-ms', '5000', '--request-timeout-ms', '1000'], expect: 'error' },
  { command: 'serve', name: 'missing --model', args: ['serve', '--model', at('nope'), '--port', '0'], expect: 'error' },
  { command: '(any)', name: 'an unknown command', args: ['frobnicate'], expect: 'error' },
  { command: '(any)', name: 'an unknown flag', args: ['eval', '--golden', 'x'], expect: 'error' },
];

// ---- the server part: malformed requests and slow clients on 127.0.0.1 ----
interface Answer {
  status: number;
  body: string;
}
function httpCall(port: number, method: string, path: string, body?: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false, timeout: 30_000 }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}
function rawCall(port: number, bytes: string | Buffer, waitMs = 15_000): Promise<{ raw: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.on('data', (c: Buffer) => (raw += c.toString()));
    socket.on('error', () => {});
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ raw, ms: performance.now() - started });
    });
    socket.write(bytes);
  });
}
const isJsonError = (text: string) => {
  try {
    return typeof JSON.parse(text).error?.code === 'string';
  } catch {
    return false;
  }
};

interface ServerCase {
  name: string;
  send: (port: number) => Promise<Answer>;
}
const big = (n: number) => JSON.stringify({ texts: Array.from({ length: n }, () => '他门来了') });
const serverCases: ServerCase[] = [
  { name: 'malformed JSON', send: (p) => httpCall(p, 'POST', '/v1/correct', '{"texts": [') },
  { name: 'a JSON array body', send: (p) => httpCall(p, 'POST', '/v1/correct', '[1]') },
  { name: 'no texts field', send: (p) => httpCall(p, 'POST', '/v1/correct', '{}') },
  { name: 'texts not an array', send: (p) => httpCall(p, 'POST', '/v1/correct', '{"texts": "他门"}') },
  { name: 'a number among the texts', send: (p) => httpCall(p, 'POST', '/v1/correct', '{"texts": ["a", 3]}') },
  { name: 'null body', send: (p) => httpCall(p, 'POST', '/v1/correct', 'null') },
  { name: 'too many texts', send: (p) => httpCall(p, 'POST', '/v1/correct', big(65)) },
  { name: 'a text too long', send: (p) => httpCall(p, 'POST', '/v1/correct', JSON.stringify({ texts: ['长'.repeat(513)] })) },
  { name: 'a body over the limit', send: (p) => httpCall(p, 'POST', '/v1/correct', JSON.stringify({ texts: ['长'.repeat(400_000)] })) },
  { name: 'bytes that are not UTF-8', send: (p) => httpCall(p, 'POST', '/v1/correct', Buffer.from([0x7b, 0x22, 0xff, 0xfe]).toString('latin1')) },
  { name: 'GET /v1/correct', send: (p) => httpCall(p, 'GET', '/v1/correct') },
  { name: 'an unknown path', send: (p) => httpCall(p, 'GET', '/nope') },
  { name: 'POST /healthz', send: (p) => httpCall(p, 'POST', '/healthz', '{}') },
  { name: 'a wrong content-length', send: async (p) => ({ status: Number(/^HTTP\/1\.1 (\d+)/.exec((await rawCall(p, 'POST /v1/correct HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}')).raw)?.[1] ?? 0), body: '' }) },
  { name: 'not HTTP at all', send: async (p) => {
    const { raw } = await rawCall(p, 'HELLO THERE\r\n\r\n');
    return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(raw)?.[1] ?? 0), body: raw.slice(raw.indexOf('\r\n\r\n') + 4) };
  } },
  { name: 'headers that never end (slow client)', send: async (p) => {
    const { raw } = await rawCall(p, 'POST /v1/correct HTTP/1.1\r\nHost: x\r\n', 20_000);
    return { status: Number(/^HTTP\/1\.1 (\d+)/.exec(raw)?.[1] ?? 0), body: raw.slice(raw.indexOf('\r\n\r\n') + 4) };
  } },
];

async function serverPart(): Promise<{ rows: string[][]; bad: number; slowLoris: string }> {
  const child = spawn(process.execPath, [cliPath, 'serve', '--model', model, '--port', '0', '--providers', 'cpu', '--threads', '1', '--headers-timeout-ms', '2000', '--request-timeout-ms', '4000'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bad-input: serve did not start: ${log}`)), caseSeconds * 1000);
    child.stderr.on('data', () => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
  });
  const rows: string[][] = [];
  let bad = 0;
  try {
    for (const c of serverCases) {
      let answer: Answer;
      try {
        answer = await c.send(port);
      } catch (error) {
        answer = { status: 0, body: (error as Error).message };
      }
      const health = await httpCall(port, 'GET', '/healthz').catch(() => ({ status: 0, body: '' }));
      const good = answer.status >= 400 && answer.status < 500 && (answer.body === '' || isJsonError(answer.body)) && health.status === 200;
      if (!good) bad++;
      rows.push([c.name, String(answer.status), answer.body === '' ? '(no body read)' : isJsonError(answer.body) ? JSON.parse(answer.body).error.code : answer.body.slice(0, 40), health.status === 200 ? 'yes' : 'NO', good ? 'ok' : 'FAILED']);
    }
    // 200 slow-loris connections at once: all cut within the header timeout (2 s) plus the check interval.
    const started = performance.now();
    const loris = await Promise.all(Array.from({ length: 200 }, () => rawCall(port, 'POST /v1/correct HTTP/1.1\r\nHost: x\r\n', 30_000)));
    const cut = loris.filter((l) => l.ms < 10_000).length;
    const healthAfter = await httpCall(port, 'GET', '/healthz').catch(() => ({ status: 0, body: '' }));
    const slowLoris = `200 slow-loris connections (headers never finished): ${cut} cut within 10 s (the last after ${(Math.max(...loris.map((l) => l.ms)) / 1000).toFixed(1)} s; --headers-timeout-ms 2000), ${(performance.now() - started) / 1000 < 15 ? 'all' : 'not all'} closed; /healthz afterwards ${healthAfter.status}`;
    if (cut < 200 || healthAfter.status !== 200) bad++;
    return { rows, bad, slowLoris };
  } finally {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.on('close', resolve));
  }
}

// ---- run ----
const results: { c: Case; outcome: Outcome; note: string }[] = [];
for (const c of cases) {
  const run = await runCli(c.args);
  const loss = run.code === 0 && c.check ? await c.check(run) : null;
  const { outcome, note } = classify(c, run, loss);
  results.push({ c, outcome, note });
  console.error(`${outcome.padEnd(11)}  ${c.command} ${c.name}`);
}
const server = await serverPart();
await rm(work, { recursive: true, force: true });

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ').replaceAll(work, '$TMP');
const tally = (o: Outcome) => results.filter((r) => r.outcome === o).length;
const out: string[] = [];
out.push(`| command | case | expected | outcome | first line / note |`, `|---|---|---|---|---|`);
for (const r of results) out.push(`| ${r.c.command} | ${cell(r.c.name)} | ${r.c.expect} | ${r.outcome} | ${cell(r.note)} |`);
out.push('', `**${results.length} cases: ${tally('clear error')} clear errors, ${tally('ok')} ok (bad lines skipped and counted), ${tally('stack trace')} stack traces, ${tally('silent loss')} silent losses.**`, '');
out.push(`| request to serve (127.0.0.1) | status | error code | /healthz after | verdict |`, `|---|---|---|---|---|`);
for (const row of server.rows) out.push(`| ${row.map(cell).join(' | ')} |`);
out.push('', server.slowLoris, '', `**serve: ${serverCases.length} malformed requests, ${server.rows.filter((r) => r[4] === 'ok').length} answered with a 4xx and a JSON error (or refused by Node before a body), the server up after each; ${server.bad === 0 ? 'no failure' : `${server.bad} failures`}.**`);
const table = out.join('\n');
console.log(table);
if (markdownOut !== undefined) await writeFile(join(root, markdownOut), `${table}\n`);
process.exitCode = tally('stack trace') + tally('silent loss') + server.bad > 0 ? 1 : 0;
