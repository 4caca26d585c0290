import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundled } from './bundled-data';
import { cli } from './cli-harness';

const tempDir = () => mkdtemp(join(tmpdir(), 'gap-relm-'));

async function cleanFile(lines: string[]) {
  const dir = await tempDir();
  const path = join(dir, 'clean.txt');
  await writeFile(path, `${lines.join('\n')}\n`);
  return { dir, path };
}

const corpusHead = async (n: number) => (await readFile(bundled.corpus, 'utf8')).split('\n').slice(0, n);

describe('gap-relm --help', () => {
  it('lists every command, in the summary and in the command list', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    const [summary, list] = stdout.split('Commands:');
    for (const command of ['demo', 'synth', 'frozen-dev', 'align', 'compile', 'eval', 'train', 'predict', 'tune', 'export', 'serve']) {
      expect(summary).toMatch(new RegExp(`\\b${command}\\b`));
      expect(list).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });

  it('documents every synthesis flag with its default', async () => {
    const { code, stdout } = await cli('synth', '--help');
    expect(code).toBe(0);
    for (const flag of ['--clean-file', '--output-dir', '--confusion-file', '--num-negative', '--pi-skip', '--pi-multiply', '--pi-replace', '--p-corrupt', '--base-lambda', '--max-edits-per-sent', '--max-insert-k', '--seed', '--lambda-mode', '--min-lambda', '--max-lambda', '--error-ratio', '--clean-file-format', '--clean-text-field']) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toMatch(/--pi-replace <value>[\s\S]*?default: 0\.7/);
  });
});

describe('gap-relm errors', () => {
  it('a missing file is one clear line and exit code 2', async () => {
    const { code, stderr } = await cli('synth', '--clean-file', '/nonexistent/clean.txt', '--output-dir', await tempDir());
    expect(code).toBe(2);
    expect(stderr.trim()).toBe('gap-relm: --clean-file: file not found: /nonexistent/clean.txt');
  });

  it('a non-numeric flag names the flag', async () => {
    const { code, stderr } = await cli('synth', '--pi-skip', 'abc');
    expect(code).toBe(2);
    expect(stderr).toContain('--pi-skip must be a number, got "abc"');
  });

  // Each row also has an input that fails at once, so a flag wrongly accepted cannot start real work.
  const missing = '/nonexistent/clean.txt';
  it.each([
    [['synth', '--clean-file', missing], '--epoch <n>', '1.5', '--epoch must be an integer >= 0, got "1.5"'],
    [['synth', '--clean-file', missing], '--epoch <n>', '', '--epoch must be an integer >= 0, got ""'],
    [['frozen-dev', '--clean-file', missing], '--num-samples <n>', '0', '--num-samples must be an integer >= 1, got "0"'],
    [['tune', '--model', missing, '--dev', missing], '--beta <b>', '1e999', '--beta must be a number > 0, got "1e999"'],
  ])('%j %s %j is refused: one error naming the flag and the value, exit code 2', async (command, option, value, message) => {
    const { code, stdout, stderr } = await cli(...command, option.split(' ')[0], value);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`error: option '${option}' argument '${value}' is invalid. ${message}\n(run with --help for usage)\n`);
  });

  it('error-type weights that sum to 0 are refused in flag terms', async () => {
    const { path } = await cleanFile(['今天天气很好。']);
    const { code, stderr } = await cli('synth', '--clean-file', path, '--pi-skip', '0', '--pi-multiply', '0', '--pi-replace', '0', '--output-dir', await tempDir());
    expect(code).toBe(2);
    expect(stderr).toContain('--pi-skip + --pi-multiply + --pi-replace must be > 0');
  });

  it('an out-of-range probability names the flag and value', async () => {
    const { code, stderr } = await cli('frozen-dev', '--p-corrupt', '1.5', '--output-dir', await tempDir());
    expect(code).toBe(2);
    expect(stderr).toMatch(/--p-corrupt: .*got 1\.5/);
  });
});

describe('gap-relm synth / frozen-dev', () => {
  it('writes the same bytes on 1 and 2 threads and reports a summary on stdout', async () => {
    const { path } = await cleanFile(await corpusHead(300));
    const outputs: string[] = [];
    for (const threads of ['1', '2']) {
      const out = await tempDir();
      const { code, stdout } = await cli('synth', '--clean-file', path, '--output-dir', out, '--threads', threads, '--no-progress', '--num-negative', '2');
      expect(code).toBe(0);
      const summary = JSON.parse(stdout);
      expect(summary.sentences).toBe(300);
      expect(summary.examples).toBe(900);
      outputs.push(await readFile(join(out, 'train.jsonl'), 'utf8'));
    }
    expect(outputs[1]).toBe(outputs[0]);
    expect(outputs[0].trim().split('\n')).toHaveLength(900);
  });

  it('online epochs differ from each other but each is reproducible', async () => {
    const { path } = await cleanFile(await corpusHead(200));
    const epoch = async (n: string) => {
      const out = await tempDir();
      expect((await cli('synth', '--mode', 'online', '--epoch', n, '--clean-file', path, '--output-dir', out, '--no-progress')).code).toBe(0);
      return readFile(join(out, `train.epoch-${n}.jsonl`), 'utf8');
    };
    const [a, b, a2] = [await epoch('0'), await epoch('1'), await epoch('0')];
    expect(a2).toBe(a);
    expect(b).not.toBe(a);
  });

  it('frozen-dev is byte-identical for the same seed and differs for another seed', async () => {
    const { path } = await cleanFile(await corpusHead(500));
    const run = async (seed: string) => {
      const out = await tempDir();
      expect((await cli('frozen-dev', '--clean-file', path, '--num-samples', '100', '--seed', seed, '--output-dir', out)).code).toBe(0);
      return readFile(join(out, 'dev.jsonl'), 'utf8');
    };
    const first = await run('7');
    expect(await run('7')).toBe(first);
    expect(await run('8')).not.toBe(first);
    expect(first.trim().split('\n')).toHaveLength(100);
  });

  it('reads jsonl clean files through --clean-text-field and skips bad lines with file:line', async () => {
    const dir = await tempDir();
    const path = join(dir, 'clean.jsonl');
    await writeFile(path, ['{"sentence":"今天天气很好。"}', '{bad json', '{"sentence":"我们明天去公园散步。"}'].join('\n'));
    const { code, stdout, stderr } = await cli('synth', '--clean-file', path, '--clean-file-format', 'jsonl', '--clean-text-field', 'sentence', '--output-dir', dir, '--no-progress');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary.sentences).toBe(2);
    expect(summary.skipped.count).toBe(1);
    expect(stderr).toContain(`${path}:2`);
  });
});

describe('gap-relm align', () => {
  it('labels pairs in order and rejects bad lines with their line numbers', async () => {
    const dir = await tempDir();
    const input = join(dir, 'pairs.jsonl');
    await writeFile(
      input,
      [
        JSON.stringify({ source: '我朋唷打算去法国', target: '我朋友打算去法国' }),
        '{not json',
        JSON.stringify({ source: '我去', target: '我想要马上就去' }), // 5 tokens inserted after one slot
        JSON.stringify({ source: '𠀀好', target: '𠀀很好' }),
        JSON.stringify({ source: '缺少目标' }),
      ].join('\n'),
    );
    const output = join(dir, 'out.jsonl');
    const { code, stdout, stderr } = await cli('align', '--input', input, '--output', output);
    expect(code).toBe(0);
    const records = (await readFile(output, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => r.target)).toEqual(['我朋友打算去法国', '𠀀很好']);
    expect(records[0].op_labels).toEqual([0, 0, 0, 2, 0, 0, 0, 0, 0]);
    expect(records[1].insert_labels).toEqual([0, 1, 0]);
    const rejects = (await readFile(join(dir, 'out.rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(rejects.map((r) => r.line)).toEqual([2, 3, 5]);
    expect(rejects[1].reason).toMatch(/^insert_too_long/);
    expect(rejects[2].reason).toContain('field "target"');
    expect(stderr).toContain(`${input}:3`);
    expect(JSON.parse(stdout)).toMatchObject({ read: 5, written: 2 });
  });
});

describe('gap-relm compile', () => {
  it('compiles the bundled SIGHAN-15 test set with no rejects', async () => {
    const output = join(await tempDir(), 'sighan15.jsonl');
    const { code, stdout } = await cli('compile', '--input', bundled.sighan15Test, '--output', output, '--no-progress', '--threads', '2');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ format: 'sighan-tsv', read: 1100, written: 1100, rejected: {} });
    const lines = (await readFile(output, 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(1100);
    expect(JSON.parse(lines[1]).gold_tokens).toEqual(['友']);
  });
});

describe('gap-relm eval', () => {
  it('prints a table and writes the JSON report', async () => {
    const dir = await tempDir();
    const gold = join(dir, 'gold.tsv');
    const pred = join(dir, 'pred.txt');
    // Sentence 1 corrected, sentence 2 missed, sentence 3 (error-free) over-corrected.
    await writeFile(gold, ['我朋唷打算去法国\t我朋友打算去法国', '他门来了\t他们来了', '今天很好\t今天很好'].join('\n'));
    await writeFile(pred, ['我朋友打算去法国', '他门来了', '今天狠好'].join('\n'));
    const json = join(dir, 'metrics.json');
    const { code, stdout } = await cli('eval', '--gold', gold, '--pred', pred, '--json', json);
    expect(code).toBe(0);
    expect(stdout).toMatch(/sentence\s+correction\s+50\.00\s+50\.00\s+50\.00/);
    const metrics = JSON.parse(await readFile(json, 'utf8'));
    expect(Object.keys(metrics)).toEqual(expect.arrayContaining(['sentence', 'char', 'fpr', 'sentences', 'length_mismatch']));
    expect(metrics.sentence.correction).toMatchObject({ precision: 0.5, recall: 0.5, f1: 0.5 });
    expect(metrics.fpr).toBe(1);
    expect(metrics.sentences).toBe(3);
  });

  it('refuses prediction files that do not align with the gold file', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'gold.tsv'), 'a\tb\nc\td\n');
    await writeFile(join(dir, 'pred.txt'), 'b\n');
    const { code, stderr } = await cli('eval', '--gold', join(dir, 'gold.tsv'), '--pred', join(dir, 'pred.txt'));
    expect(code).toBe(2);
    expect(stderr).toContain('--pred has 1 lines but --gold has 2 pairs');
  });
});

describe('gap-relm demo', () => {
  it('runs the data steps of the main job on bundled data and prints the summary', async () => {
    const out = await tempDir();
    const { code, stdout } = await cli('demo', '--output-dir', out, '--dev-samples', '200', '--no-progress', '--no-train');
    expect(code).toBe(0);
    expect(stdout).toContain('93210 examples');
    expect(stdout).toContain('1100 SIGHAN-15 records, 0 rejected');
    expect(stdout).toMatch(/sighan15-test\s+1100\s+49\.3%/);
    // Real learner errors mixed half and half into the synthetic ones (--learner-share 0.5).
    expect(stdout).toContain('7476 real learner pairs');
    expect(stdout).toContain('186420 training examples, 93210 learner (--learner-share 0.5)');
    expect(stdout).toMatch(/learner\s+7476\s+93\.2%\s+1\.42\s+100%\s+0%\s+0%/);
    const mixed = (await readFile(join(out, 'train-mix.jsonl'), 'utf8')).trim().split('\n');
    expect(mixed).toHaveLength(186420);
  });

  it('--learner-share 0 trains on synthetic errors alone; 1 is refused', async () => {
    const out = await tempDir();
    const { code, stdout } = await cli('demo', '--output-dir', out, '--dev-samples', '50', '--no-progress', '--no-train', '--learner-share', '0');
    expect(code).toBe(0);
    expect(stdout).toContain('93210 training examples, 0 learner (--learner-share 0)');
    const refused = await cli('demo', '--output-dir', out, '--no-train', '--learner-share', '1');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--learner-share must be a number in [0, 1), got "1"');
  });

  it('trains, tunes and scores on onnxruntime end to end (2 steps a stage, from scratch) and writes summary.json', async () => {
    const out = await tempDir();
    const { code, stdout, stderr } = await cli('demo', '--output-dir', out, '--dev-samples', '20', '--no-progress', '--init-from', 'none', '--train-steps', '2,2,2');
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('engine: onnx (training steps and dev evaluation on onnxruntime-node)');
    expect(stderr).toContain('engine: onnx (provider cpu');
    expect(stdout).toMatch(/SIGHAN-15 test\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+1100\/1100/);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ train_steps: '2,2,2', steps_run: '2, 2, 2', time_budget_minutes: 30, start: 'scratch', engine: 'onnx', learner_share: 0.5 });
    // The 30-minute budget, split across the stages by steps × seconds per step, was not reached.
    expect(stderr).toMatch(/demo: training may take \d+ s of the 30-minute budget \(--time-budget\)/);
    expect(summary.train_seconds).toBeGreaterThan(0);
    expect(summary.scores['SIGHAN-15 test'].sentences).toBe(1100);
    expect(summary.scores['frozen dev'].sentences + summary.scores['frozen dev'].skipped_length_mismatch).toBe(20);
    expect(existsSync(join(out, 'model', 'final', 'onnx', 'planner.onnx'))).toBe(true);
  }, 300_000);

  it('refuses, before any work, to train over an earlier run unless --fresh', async () => {
    const out = await tempDir();
    await mkdir(join(out, 'model', 'infiller_pretrain'), { recursive: true });
    const refused = await cli('demo', '--output-dir', out, '--no-progress');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`demo: ${join(out, 'model')} holds an earlier demo run; pass --fresh to replace it, or another --output-dir`);
    expect(existsSync(join(out, 'train.jsonl'))).toBe(false);
  });
});
