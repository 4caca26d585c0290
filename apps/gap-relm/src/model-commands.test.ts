import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportBertForMaskedLMToOnnx, initBackend, loadBertForMaskedLM } from '@proj/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundled } from './bundled-data';
import { cli } from './cli-harness';

// A tiny model trained once for every test here: enough to check the commands' plumbing
// (files, formats, flags, backend report); learning itself is tested in @proj/models.
const TINY = ['--hidden-size', '32', '--num-hidden-layers', '1', '--num-attention-heads', '2', '--intermediate-size', '64', '--prompt-length', '2'];
let run: string;
let sentences: string[];

beforeAll(async () => {
  run = await mkdtemp(join(tmpdir(), 'gap-relm-train-'));
  sentences = (await readFile(bundled.corpus, 'utf8')).split('\n').slice(0, 160);
  const clean = join(run, 'clean.txt');
  await writeFile(clean, sentences.join('\n'));
  const { code, stdout, stderr } = await cli('train', '--clean-file', clean, '--output-dir', run, '--dev-samples', '20', '--dev-eval-limit', '20', '--epochs', '1', '--batch-size', '16', '--backend', 'cpu', '--no-progress', ...TINY);
  expect(stderr).toContain('backend: cpu');
  expect(code, stderr).toBe(0);
  const summary = JSON.parse(stdout);
  expect(summary.stages.map((s: { name: string }) => s.name)).toEqual(['infiller_pretrain', 'planner_train', 'joint_finetune']);
}, 180_000);

describe('gap-relm train', () => {
  it('writes a loadable model directory and a held-out frozen dev set', async () => {
    const config = JSON.parse(await readFile(join(run, 'final', 'gap_relm_config.json'), 'utf8'));
    expect(config.hidden_size).toBe(32);
    const vocab = await readFile(join(run, 'final', 'vocab.txt'), 'utf8');
    expect(vocab.split('\n').slice(0, 5)).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
    // Characters errors can bring in are in the vocabulary even when the clean text lacks them
    // (the corpus has no comma; 吗 is in the confusion sets, not in these 160 sentences).
    expect(sentences.join('')).not.toContain('吗');
    expect(vocab.split('\n')).toEqual(expect.arrayContaining(['，', '吗']));
    const dev = (await readFile(join(run, 'data', 'dev.jsonl'), 'utf8')).trim().split('\n');
    expect(dev).toHaveLength(20);
    for (const stage of ['infiller_pretrain', 'planner_train', 'joint_finetune']) {
      expect((await readFile(join(run, stage, 'metrics.jsonl'), 'utf8')).length).toBeGreaterThan(0);
    }
  });

  it('refuses an unknown stage and incompatible sizes in flag terms', async () => {
    const bad = await cli('train', '--stages', 'planner_train,warmup', '--output-dir', run);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--stages: unknown stage "warmup"');
    const sizes = await cli('train', '--hidden-size', '30', '--num-attention-heads', '4', '--output-dir', join(run, 'x'));
    expect(sizes.code).toBe(2);
    expect(sizes.stderr).toMatch(/--hidden-size must be divisible by --num-attention-heads/);
    const shares = await cli('train', '--stages', 'infiller_pretrain,planner_train', '--max-seconds', '60', '--stage-time-shares', '1,0', '--output-dir', join(run, 'y'));
    expect(shares.code).toBe(2);
    expect(shares.stderr).toContain('--stage-time-shares: expected 2 numbers > 0 (one per stage: infiller_pretrain, planner_train), got "1,0"');
    const noBudget = await cli('train', '--stages', 'planner_train', '--stage-time-shares', '1', '--output-dir', join(run, 'z'));
    expect(noBudget.code).toBe(2);
    expect(noBudget.stderr).toContain('--stage-time-shares splits --max-seconds across the stages: give --max-seconds too');
  });
});

describe('gap-relm predict / tune', () => {
  it('writes one line per input line, and the edits as JSONL', async () => {
    const input = join(run, 'in.tsv');
    await writeFile(input, ['我朋唷打算去法国\t我朋友打算去法国', '今天天气很好', '1\t他门来了\t他们来了'].join('\n'));
    const output = join(run, 'out.txt');
    const edits = join(run, 'edits.jsonl');
    const { code, stderr } = await cli('predict', '--model', join(run, 'final'), '--input', input, '--output', output, '--edits', edits, '--backend', 'cpu', '--no-progress');
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('backend: cpu');
    expect((await readFile(output, 'utf8')).split('\n')).toHaveLength(4); // 3 lines + final newline
    const records = (await readFile(edits, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    expect(records.map((r) => r.source)).toEqual(['我朋唷打算去法国', '今天天气很好', '他门来了']);
    for (const r of records) expect(Array.isArray(r.edits)).toBe(true);
  });

  it('one line out per line in: blank stays blank, a line fitting no form comes back unchanged, counted; --decode-batch-size works', async () => {
    const input = join(run, 'ragged.txt');
    const lines = ['我朋唷打算去法国', '', '他门来了', 'a\tb\tc\td', '   ', '今天天气很好', '', '1\t他门来了\t他们来了', '{"source":"你好"}', '', '我们去公园', '好'];
    await writeFile(input, `${lines.join('\n')}\n`);
    const output = join(run, 'ragged.out');
    const edits = join(run, 'ragged.edits.jsonl');
    const { code, stdout, stderr } = await cli('predict', '--model', join(run, 'final'), '--input', input, '--output', output, '--edits', edits, '--chunk', '5', '--decode-batch-size', '2', '--backend', 'cpu', '--no-progress');
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('');
    const out = (await readFile(output, 'utf8')).split('\n');
    expect(out).toHaveLength(lines.length + 1);
    [1, 4, 6, 9].forEach((i) => expect(out[i]).toBe(lines[i]));
    expect(out[3]).toBe('a\tb\tc\td');
    expect((await readFile(edits, 'utf8')).trim().split('\n')).toHaveLength(lines.length);
    expect(stderr).toContain(`predict: written unchanged: ${input}:4: expected text`);
    expect(stderr).toContain('predict: 12 lines in and out: 7 corrected');
    expect(stderr).toContain(', 4 blank, 1 unreadable written unchanged');
    expect(stderr).toContain('predict: thresholds delete 0.5, insert 0.5, replace 0.5');
  });

  it('--engine onnx exports <model>/onnx/ on first use and writes the same corrections and edits as --engine tfjs', async () => {
    const input = join(run, 'engines.txt');
    await writeFile(input, ['我朋唷打算去法国', '他门来了', ...sentences.slice(0, 18)].join('\n'));
    const low = ['--delete-threshold', '0.3', '--replace-threshold', '0.3', '--insert-threshold', '0.3'];
    const outputs: Record<string, { text: string; edits: { source: string; corrected: string; edits: { confidence: number }[] }[] }> = {};
    for (const engine of ['tfjs', 'onnx']) {
      const output = join(run, `engine-${engine}.txt`);
      const edits = join(run, `engine-${engine}.jsonl`);
      const { code, stderr } = await cli('predict', '--model', join(run, 'final'), '--input', input, '--output', output, '--edits', edits, '--engine', engine, '--providers', 'cuda,cpu', '--backend', 'cpu', '--no-progress', ...low);
      expect(code, stderr).toBe(0);
      if (engine === 'onnx') {
        expect(stderr).toContain(`onnx: exported ${join(run, 'final', 'onnx')}/`);
        expect(stderr).toContain('onnx: provider cuda not installed (see docs/onnx.md, GPU deployment); using cpu');
        expect(stderr).not.toContain('failed');
        expect(stderr).toMatch(/engine: onnx \(provider cpu, \d+ threads\)/);
      } else expect(stderr).toContain('engine: tfjs (backend cpu)');
      outputs[engine] = { text: await readFile(output, 'utf8'), edits: (await readFile(edits, 'utf8')).trim().split('\n').map((l) => JSON.parse(l)) };
    }
    const { tfjs, onnx } = outputs;
    expect(onnx.text).toBe(tfjs.text);
    expect(tfjs.edits).toHaveLength(20);
    expect(tfjs.edits.filter((r) => r.edits.length > 0).length).toBeGreaterThan(0);
    // Same edits; confidences are float arithmetic of two engines, equal to ~1e-7.
    const decisions = (rs: typeof tfjs.edits) => rs.map((r) => ({ ...r, edits: r.edits.map((e) => ({ ...e, confidence: 0 })) }));
    expect(decisions(onnx.edits)).toEqual(decisions(tfjs.edits));
    tfjs.edits.forEach((r, i) => r.edits.forEach((e, j) => expect(Math.abs(e.confidence - onnx.edits[i].edits[j].confidence)).toBeLessThan(1e-5)));
    // A second run reuses the export.
    const again = await cli('predict', '--model', join(run, 'final'), '--text', '他门来了', '--engine', 'onnx', '--providers', 'cpu', '--threads', '1', '--backend', 'cpu', '--no-progress', ...low);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toContain('onnx: exported');
    expect(again.stderr).not.toContain('backend:'); // tfjs is not started when the graphs exist
    expect(again.stderr).toContain('engine: onnx (provider cpu, 1 threads)');
    expect(again.stdout).toBe(onnx.text.split('\n')[1] + '\n');
    // --int8: both sessions with their weight MatMuls in int8, said per session; only on the onnx engine.
    const int8 = await cli('predict', '--model', join(run, 'final'), '--text', '他门来了', '--engine', 'onnx', '--int8', '--providers', 'cpu', '--backend', 'cpu', '--no-progress', ...low);
    expect(int8.code, int8.stderr).toBe(0);
    expect(int8.stdout.trim().split('\n')).toHaveLength(1);
    // This tiny model's planner weights are all under the size worth it; the infiller's MLM head is not.
    expect(int8.stderr).toContain(`onnx: ${join(run, 'final', 'onnx', 'planner.onnx')}: int8: 0 weight MatMuls quantized`);
    expect(int8.stderr).toContain(`onnx: ${join(run, 'final', 'onnx', 'infiller.onnx')}: int8: 1 weight MatMuls quantized`);
    const refused = await cli('predict', '--model', join(run, 'final'), '--text', '他门来了', '--int8', '--backend', 'cpu');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--int8 quantizes the onnxruntime sessions; it needs --engine onnx');
  });

  it('--infiller-onnx runs an optimum-layout masked LM as the infiller; it needs --engine onnx and a model.onnx', async () => {
    // An optimum-layout directory (logits at every position, config.json, tokenizer files): this
    // model's own infiller, exported by exportBertForMaskedLMToOnnx.
    const mlm = join(run, 'infiller-optimum');
    await mkdir(mlm, { recursive: true });
    await initBackend({ backend: 'cpu' });
    const { model } = await loadBertForMaskedLM(join(run, 'final', 'infiller'));
    await exportBertForMaskedLMToOnnx(model, join(mlm, 'model.onnx'));
    model.dispose();
    await cp(join(run, 'final', 'infiller', 'config.json'), join(mlm, 'config.json'));
    for (const file of ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']) await cp(join(run, 'final', file), join(mlm, file));
    const low = ['--delete-threshold', '0.3', '--replace-threshold', '0.3', '--insert-threshold', '0.3'];
    const texts = ['他门来了', '我朋唷打算去法国'];
    const { code, stdout, stderr } = await cli('predict', '--model', join(run, 'final'), '--text', ...texts, '--engine', 'onnx', '--infiller-onnx', mlm, '--providers', 'cpu', '--backend', 'cpu', '--no-progress', ...low);
    expect(code, stderr).toBe(0);
    expect(stderr).toContain(`onnx: infiller ${mlm} (optimum layout, vocab `);
    expect(stdout.trimEnd().split('\n')).toHaveLength(texts.length);
    const tfjs = await cli('predict', '--model', join(run, 'final'), '--text', texts[0], '--infiller-onnx', mlm, '--backend', 'cpu');
    expect(tfjs.code).toBe(2);
    expect(tfjs.stderr).toContain('--infiller-onnx needs --engine onnx');
    const missing = await cli('predict', '--model', join(run, 'final'), '--text', texts[0], '--engine', 'onnx', '--infiller-onnx', run, '--backend', 'cpu');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--infiller-onnx: file not found: ${join(run, 'model.onnx')}`);
  });

  it('with every threshold at 1 nothing changes; --text prints to stdout', async () => {
    const { code, stdout } = await cli('predict', '--model', join(run, 'final'), '--text', '我朋唷打算去法国', '他门来了', '--delete-threshold', '1', '--replace-threshold', '1', '--insert-threshold', '1', '--backend', 'cpu', '--no-progress');
    expect(code).toBe(0);
    expect(stdout).toBe('我朋唷打算去法国\n他门来了\n');
  });

  it('tune writes thresholds that predict reads, and flags typed on the command line win', async () => {
    const out = join(run, 'thresholds.json');
    const { code, stdout, stderr } = await cli('tune', '--model', join(run, 'final'), '--dev', join(run, 'data', 'dev.jsonl'), '--grid', '0.3,0.9', '--output', out, '--backend', 'cpu');
    expect(code).toBe(0);
    // The hint is a complete command: predict needs --model as well as the thresholds.
    expect(stderr).toContain(`(use: gap-relm predict --model ${join(run, 'final')} --thresholds ${out} --text ...)`);
    expect(stdout).toMatch(/^best F2 \((csc-sentence|char-edit)\) = \d\.\d{4} at delete 0\.[39], insert 0\.[39], replace 0\.[39]/);
    const saved = JSON.parse(await readFile(out, 'utf8'));
    expect(saved.rows).toHaveLength(8);
    // Overriding every threshold to 1 after loading the file must again change nothing.
    const { stdout: unchanged } = await cli('predict', '--model', join(run, 'final'), '--thresholds', out, '--text', '他门来了', '--delete-threshold', '1', '--replace-threshold', '1', '--insert-threshold', '1', '--backend', 'cpu', '--no-progress');
    expect(unchanged).toBe('他门来了\n');
  });

  it('tune --engine onnx sweeps on onnxruntime and scores every threshold triple as tfjs does', async () => {
    const sweep = async (engine: string) => {
      const out = join(run, `thresholds-${engine}.json`);
      const { code, stderr } = await cli('tune', '--model', join(run, 'final'), '--dev', join(run, 'data', 'dev.jsonl'), '--grid', '0.3,0.9', '--output', out, '--backend', 'cpu', '--engine', engine, '--providers', 'cpu');
      expect(code, stderr).toBe(0);
      expect(stderr).toContain(engine === 'onnx' ? 'engine: onnx (provider cpu' : 'engine: tfjs (backend cpu)');
      return JSON.parse(await readFile(out, 'utf8')) as { rows: { score: number }[] };
    };
    const [onnx, tfjs] = [await sweep('onnx'), await sweep('tfjs')];
    expect(onnx.rows).toHaveLength(8);
    onnx.rows.forEach((row, i) => expect(row.score).toBeCloseTo(tfjs.rows[i].score, 6));
  });

  it('a missing model directory is one clear error', async () => {
    const { code, stderr } = await cli('predict', '--model', join(run, 'nope'), '--text', '你好');
    expect(code).toBe(2);
    expect(stderr.trim()).toBe(`gap-relm: --model: directory not found: ${join(run, 'nope')}`);
  });
});

describe('gap-relm export', () => {
  it('writes <model>/onnx/ and a weights-free serving directory that predict --engine onnx runs with the same corrections', async () => {
    const out = join(run, 'serving');
    const { code, stdout, stderr } = await cli('export', '--model', join(run, 'final'), '--output', out, '--backend', 'cpu');
    expect(code, stderr).toBe(0);
    const result = JSON.parse(stdout);
    expect(result.onnxDir).toBe(join(run, 'final', 'onnx'));
    expect(result.bytes['planner.onnx']).toBeGreaterThan(10_000);
    expect(result.servingFiles).toEqual(expect.arrayContaining(['onnx/planner.onnx', 'onnx/infiller.onnx', 'gap_relm_config.json', 'vocab.txt']));
    expect(stderr).toContain(`export: serving directory ${out}/`);
    expect(existsSync(join(out, 'planner', 'model.safetensors'))).toBe(false);
    const texts = ['他门来了', '我朋唷打算去法国', '下个星期，我跟我朋唷打算去法国玩儿。'];
    const flags = ['--text', ...texts, '--engine', 'onnx', '--providers', 'cpu', '--backend', 'cpu', '--no-progress', '--delete-threshold', '0.3', '--replace-threshold', '0.3', '--insert-threshold', '0.3'];
    const full = await cli('predict', '--model', join(run, 'final'), ...flags);
    const served = await cli('predict', '--model', out, ...flags);
    expect(served.code, served.stderr).toBe(0);
    expect(served.stderr).not.toContain('onnx: exported');
    expect(served.stdout).toBe(full.stdout);
    // Tuned thresholds travel with the serving directory, and predict uses them by default.
    const shipped = join(run, 'serving-tuned');
    await writeFile(join(run, 'tuned.json'), JSON.stringify({ bestConfig: { deleteThreshold: 1, insertThreshold: 1, replaceThreshold: 1 } }));
    const tuned = await cli('export', '--model', join(run, 'final'), '--output', shipped, '--thresholds', join(run, 'tuned.json'), '--backend', 'cpu');
    expect(tuned.code, tuned.stderr).toBe(0);
    expect(JSON.parse(tuned.stdout).servingFiles).toContain('thresholds.json');
    const fromShipped = await cli('predict', '--model', shipped, '--text', '我朋唷打算去法国', '--engine', 'onnx', '--providers', 'cpu', '--no-progress');
    expect(fromShipped.code, fromShipped.stderr).toBe(0);
    expect(fromShipped.stderr).toContain(`predict: thresholds delete 1, insert 1, replace 1 (${join(shipped, 'thresholds.json')}, then the flags given)`);
    expect(fromShipped.stdout).toBe('我朋唷打算去法国\n');
    const missing = await cli('export', '--model', run, '--backend', 'cpu');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`--model: ${run} is not a Gap-ReLM model directory (no gap_relm_config.json); ${join(run, 'final')}`);
  });
});
