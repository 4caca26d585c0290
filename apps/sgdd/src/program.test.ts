import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CapturedIO } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphToOnnx, loadSgdd, recordSgddDecoder, SGDD_PASS_WEIGHTS } from '@proj/models';
import { runCli } from './program';

/** The decoder as exported before the argmax head: the recorded graph up to its `logits` output. */
async function headlessDecoder(modelDir: string): Promise<Uint8Array> {
  const model = await loadSgdd(modelDir);
  const full = recordSgddDecoder(model);
  const nodes = full.nodes.slice(0, full.nodes.findIndex((n) => n.outputs.includes('logits')) + 1);
  const made = new Set(nodes.flatMap((n) => n.outputs));
  const read = new Set(nodes.flatMap((n) => n.inputs));
  const graph = {
    ...full,
    nodes,
    inputs: full.inputs.filter((i) => i.name !== SGDD_PASS_WEIGHTS),
    outputs: full.outputs.filter((o) => o.name === 'logits'),
    valueInfo: full.valueInfo.filter((v) => made.has(v.name)),
    initializers: full.initializers.filter((i) => read.has(i.name)),
  };
  const values = new Map(await Promise.all(graph.initializers.filter((i) => i.kind === 'parameter').map(async (i) => [i.name, await model.params.toFloat32(i.name)] as const)));
  model.dispose();
  return graphToOnnx(graph, { graphName: 'sgdd_decoder', parameters: (name) => values.get(name) ?? new Float32Array(0) });
}

async function cli(...argv: string[]) {
  const io = new CapturedIO();
  const code = await runCli(argv, io);
  return { code, stdout: io.stdoutText, stderr: io.stderrText };
}

// The tiny committed BERT (vocabulary 200: specials and CJK from 一 on) is the frozen encoder.
const TINY_BERT = fileURLToPath(new URL('../../../packages/models/test/fixtures/tiny-bert', import.meta.url));
const CHARS = '一丁七万丈三上下不与专且世业东丝丢两严並丧个中丰串临为主举';

let dir: string;
let corpus: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdd-'));
  corpus = join(dir, 'corpus.txt');
  // 40 sentences of 3-8 characters, an empty line (line 3) and one of 70 characters (line 5: 72 tokens).
  const lines = Array.from({ length: 40 }, (_, i) => Array.from({ length: 3 + (i % 6) }, (_, j) => CHARS[(i * 7 + j * 3) % CHARS.length]).join(''));
  lines.splice(2, 0, '');
  lines.splice(4, 0, CHARS.repeat(3).slice(0, 70));
  await writeFile(corpus, `${lines.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const phaseConfig = (extra = '') => `phase: reconstruction
data: prepared
model: { hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, dropout: 0 }
train: { epochs: 100, max_steps: 4, batch_size: 8, lr: 0.01, warmup_steps: 1, eval_every_steps: 2, log_every_steps: 2, output_dir: run }
dev_limit: 8
eval: { samples: 4, steps: 4, guidance: 2 }
${extra}`;

describe('sgdd', () => {
  it('prepare counts empty lines with file:line, truncates long sentences (or refuses them) and caches one vector per example', async () => {
    const out = join(dir, 'prepared');
    const r = await cli('prepare', '--input', corpus, '--output-dir', out, '--encoder', TINY_BERT, '--dev-size', '8', '--no-progress');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ task: 'reconstruction', splits: { train: 33, dev: 8 }, skipped: 1, truncated: 1, vector_size: 32 });
    expect(r.stderr).toContain(`empty line: 1); first: ${corpus}:3`);
    expect(r.stderr).toContain(`truncated 1 sentences longer than 64 tokens; first: ${corpus}:5`);
    const info = JSON.parse(readFileSync(join(out, 'prepare.json'), 'utf8'));
    expect(readFileSync(join(out, 'train.vectors.f32')).length).toBe(33 * 32 * 4);
    expect(info.special_ids).toEqual({ pad: 0, cls: 2, sep: 3, mask: 4 });
    const records = ['train', 'dev'].flatMap((split) => readFileSync(join(out, `${split}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l)));
    expect(Math.max(...records.map((x: { ids: number[] }) => x.ids.length))).toBe(64);
    const refused = await cli('prepare', '--input', corpus, '--output-dir', join(dir, 'refused'), '--encoder', TINY_BERT, '--refuse-long', '--no-progress');
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim().split('\n').pop()).toBe(`sgdd: ${corpus}:5: 72 tokens, more than 64 ([CLS] and [SEP] included); drop --refuse-long to truncate`);
  });

  it('train --config trains a phase and scores it; sample, eval and export use the model', async () => {
    const config = join(dir, 'phase1.yaml');
    await writeFile(config, phaseConfig());
    const r = await cli('train', '--config', config, '--backend', 'cpu', '--no-progress');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(r.stderr).toContain('engine: onnx (training steps on onnxruntime-node');
    expect(s).toMatchObject({ phase: 'reconstruction', stopped: 'completed', global_step: 4, backend: 'cpu', engine: 'onnx', model_dir: join(dir, 'run', 'best') });
    expect(s.eval.loss).toBeGreaterThan(0);
    expect(s.eval.loss_unconditional).toBeGreaterThan(0);
    expect(s.eval.perplexity).toBeCloseTo(Math.exp(s.eval.loss), 4);
    expect(s.eval.decoded).toBe(4);
    expect(s.eval.exact_match).toBeGreaterThanOrEqual(0);
    expect(s.eval.sampling).toMatchObject({ steps: 4, guidance: 2, engine: 'onnx' });
    expect(existsSync(join(dir, 'run', 'final', 'sgdd_app.json'))).toBe(true);
    // The same config again: its run dir holds checkpoints, so one line and exit 2.
    const again = await cli('train', '--config', config, '--backend', 'cpu', '--no-progress');
    expect(again.code, again.stderr).toBe(2);
    expect(again.stderr.trim().split('\n').pop()).toMatch(/^sgdd: train: output_dir \S+ already holds checkpoint-\d+.* --resume-from on the command line\) or choose another output_dir$/);
    const model = join(dir, 'run', 'best');

    // sample: the same seed, the same output, on both engines; --temperature > 0 with a seed repeats too.
    const args = ['sample', '--model', model, '--text', '一丁七万', '三上下不与专', '--steps', '4'];
    const [a, b, t] = [await cli(...args), await cli(...args, '--engine', 'tfjs', '--backend', 'cpu'), await cli(...args, '--temperature', '1', '--seed', '3')];
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout.trim().split('\n')).toHaveLength(2);
    expect(b.stdout).toBe(a.stdout);
    expect(a.stderr).toContain('engine: onnx (onnxruntime-node, cpu provider');
    expect(a.stderr).toContain('exported from the weights in memory');
    expect(b.stderr).toContain('engine: tfjs (cpu backend)');
    expect((await cli(...args, '--temperature', '1', '--seed', '3')).stdout).toBe(t.stdout);
    // --int8: the onnxruntime decoder with its weight MatMuls in int8 (the tiny ones stay float); not on tfjs.
    const q = await cli(...args, '--int8');
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout.trim().split('\n')).toHaveLength(2);
    expect(q.stderr).toMatch(/exported from the weights in memory; int8: 1 weight MatMuls quantized, \d+ left float/);
    const qt = await cli(...args, '--engine', 'tfjs', '--int8');
    expect(qt.code).toBe(2);
    expect(qt.stderr).toContain('--int8 quantizes the onnxruntime decoder; it needs --engine onnx or auto');
    const bad = await cli(...args, '--guidance', '-1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--guidance must be a number >= 0, got "-1"');

    const e = await cli('eval', '--model', model, '--data', join(dir, 'prepared'), '--samples', '3', '--steps', '2', '--guidance', '0', '--no-progress', '--noise-levels', '0.3, 1');
    expect(e.code, e.stderr).toBe(0);
    const ev = JSON.parse(e.stdout);
    expect(ev).toMatchObject({ decoded: 3, loss_examples: 8, sampling: { steps: 2, guidance: 0 } });
    expect(ev.bleu_reference).toBeGreaterThanOrEqual(0);
    expect(ev.samples).toHaveLength(3);
    // --noise-levels: the loss examples once more per masked fraction; at 1 every token between [CLS] and [SEP].
    expect(ev.by_noise_level.map((l: { fraction: number }) => l.fraction)).toEqual([0.3, 1]);
    const [low, full] = ev.by_noise_level;
    expect(full).toMatchObject({ timestep: 1000, mask_probability: 1 });
    expect(low.tokens).toBeLessThan(full.tokens);
    for (const l of ev.by_noise_level) [l.loss, l.accuracy].forEach((v) => expect(Number.isFinite(v)).toBe(true));
    const badLevel = await cli('eval', '--model', model, '--data', join(dir, 'prepared'), '--noise-levels', '0.5,0');
    expect(badLevel.code).toBe(2);
    expect(badLevel.stderr).toContain('--noise-levels must be a number in (0, 1], got "0"');

    const x = await cli('export', '--model', model);
    expect(x.code, x.stderr).toBe(0);
    const ex = JSON.parse(x.stdout);
    expect(ex.parity_max_abs_diff).toBeLessThan(1e-4);
    expect(ex.files).toEqual(expect.arrayContaining(['decoder.onnx', 'encoder.onnx', 'sgdd_config.json', 'vocab.txt']));
    // Now --engine auto samples with the exported decoder, to the same output.
    const exported = await cli(...args, '--engine', 'auto');
    expect(exported.stderr).toContain(`threads; ${join(model, 'onnx', 'decoder.onnx')})`);
    expect(exported.stdout).toBe(a.stdout);
    // A decoder exported before the argmax head (the same graph cut at its logits): said, and the
    // weights are exported again instead, to the same output.
    await writeFile(join(model, 'onnx', 'decoder.onnx'), await headlessDecoder(model));
    const headless = await cli(...args, '--engine', 'auto');
    expect(headless.stderr).toContain(`engine: ${join(model, 'onnx', 'decoder.onnx')} predates the argmax head (run \`sgdd export\` again); exporting the weights instead`);
    expect(headless.stderr).toContain('exported from the weights in memory');
    expect(headless.stdout).toBe(a.stdout);
    // A decoder file onnxruntime cannot read: said, and the weights are exported instead.
    await writeFile(join(model, 'onnx', 'decoder.onnx'), 'not onnx');
    const unreadable = await cli(...args, '--engine', 'onnx');
    expect(unreadable.stderr).toContain(`engine: ${join(model, 'onnx', 'decoder.onnx')} cannot be used`);
    expect(unreadable.stdout).toBe(a.stdout);
    expect((await cli('eval', '--model', join(dir, 'run'), '--data', join(dir, 'prepared'))).stderr).toContain(`is not an SGDD model directory (no sgdd_config.json); ${join(dir, 'run', 'best')} and ${join(dir, 'run', 'final')} have one`);
  }, 120_000);

  it.each([
    ['an unknown key, named', phaseConfig('colour: red'), 'invalid phase config: unknown key "colour"'],
    ['an unknown train key', phaseConfig().replace('lr: 0.01', 'lr: 0.01, lr_decay: 2'), 'train: invalid config'],
    ["a tokenizer field", phaseConfig().replace('dropout: 0', 'dropout: 0, vocab_size: 9'), 'model.vocab_size comes from the encoder'],
    ['bad YAML', 'phase: [', 'not valid YAML'],
  ])('a config with %s is one line and exit 2', async (_what, text, message) => {
    const config = join(dir, 'bad.yaml');
    await writeFile(config, text);
    const r = await cli('train', '--config', config, '--backend', 'cpu');
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(message);
  });

  it('demo runs phase 1 then phase 2 on the bundled data and prints both phases', async () => {
    const r = await cli('demo', '--output-dir', join(dir, 'demo'), '--encoder', TINY_BERT, '--train-sentences', '24', '--dev-sentences', '4', '--phase1-steps', '2', '--phase2-steps', '2', '--batch-size', '4', '--hidden-size', '16', '--layers', '1', '--samples', '2', '--backend', 'cpu', '--no-progress');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.reconstruction.steps).toBe(2);
    expect(s.paraphrase.steps).toBe(2);
    expect(s.paraphrase.bleu_copy_source_vs_reference).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/initialised from .*phase1/);
    expect((await cli('demo', '--output-dir', join(dir, 'demo'), '--encoder', TINY_BERT)).stderr).toContain('pass --fresh to replace it');
  }, 120_000);
});
