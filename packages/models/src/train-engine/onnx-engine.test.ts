import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, Rng, safetensorsToFloat32 } from '@proj/core';
import { train, type EngineFactory, type MetricsRecord, type TrainConfigInput } from '@proj/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TINY_BERT } from '../autodiff/testing';
import { BertForMaskedLM } from '../bert/model';
import { readParameterFile, writeParameterFile } from '../ops/parameter-file';
import { TfOps } from '../ops/tf-ops';
import { createOnnxEngine } from './onnx-engine';
import { checkHostBatch, opsTrainTask, type HostBatch, type OpsInput, type OpsTrainTask } from './ops-task';

const tmp = mkdtempSync(join(tmpdir(), 'onnx-engine-'));
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The autodiff tests' tiny BERT with dropout on (hidden and attention), so masks must match between engines. */
const CONFIG = { ...TINY_BERT, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1 };
const [PAD, CLS, SEP, MASK] = [0, 1, 2, 3];

/** 16 seeded sentences of 3..8 tokens (ids 4..39) between [CLS] and [SEP]. */
const SENTENCES = (() => {
  const rng = new Rng(7);
  return Array.from({ length: 16 }, () => [CLS, ...Array.from({ length: 3 + rng.int(6) }, () => 4 + rng.int(36)), SEP]);
})();

/** A padded MLM batch; which tokens are masked is drawn from `rng` (≥ 1 per sentence). */
function mlmBatch(rows: number[][], rng: Rng | null): HostBatch {
  const len = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(rows.length * len).fill(PAD);
  const mask = new Int32Array(rows.length * len);
  const positions: number[] = [];
  const labels: number[] = [];
  rows.forEach((row, b) => {
    const inner = row.length - 2;
    const forced = rng ? rng.int(inner) : 0;
    row.forEach((id, i) => {
      ids[b * len + i] = id;
      mask[b * len + i] = 1;
      const pick = i > 0 && i <= inner && (i - 1 === forced || (rng ? rng.float() < 0.25 : i % 3 === 0));
      if (pick) {
        ids[b * len + i] = MASK;
        positions.push(b * len + i);
        labels.push(id);
      }
    });
  });
  return {
    input_ids: { data: ids, shape: [rows.length, len] },
    attention_mask: { data: mask, shape: [rows.length, len] },
    positions: { data: Int32Array.from(positions), shape: [positions.length] },
    labels: { data: Int32Array.from(labels), shape: [labels.length] },
  };
}

/** A fresh model from seed 11 as a task; key biases frozen (their gradient is 0 in exact arithmetic, so Adam would amplify float noise). */
function tinyMlmTask(newParameters?: (names: string[]) => string[]): { task: OpsTrainTask; model: BertForMaskedLM } {
  const model = BertForMaskedLM.random(CONFIG, new Rng(11));
  const dev = mlmBatch(SENTENCES.slice(0, 6), null);
  const task = opsTrainTask({
    name: 'test/tiny-mlm',
    describe: () => 'tiny BertForMaskedLM',
    store: model.params,
    trainable: (name) => !name.endsWith('attention.self.key.bias'),
    newParameters: newParameters ? () => new Set(newParameters(model.params.names())) : undefined,
    numExamples: () => SENTENCES.length,
    inputs: [
      { name: 'input_ids', dtype: 'int32', shape: ['batch', 'seq'] },
      { name: 'attention_mask', dtype: 'int32', shape: ['batch', 'seq'] },
      { name: 'positions', dtype: 'int32', shape: ['n'] },
      { name: 'labels', dtype: 'int32', shape: ['n'] },
    ],
    batch: (indices, ctx) => mlmBatch(indices.map((i) => SENTENCES[i]), ctx.rng),
    loss: (ops, x, training) => model.loss(ops, { inputIds: x.input_ids, attentionMask: x.attention_mask }, x.positions, x.labels, { training }),
    tokens: (batch) => (batch.attention_mask.data as Int32Array).reduce((a, b) => a + b, 0),
    evaluate: () => {
      const loss = tf.tidy(() => {
        const t = (k: string) => tf.tensor(dev[k].data, dev[k].shape, 'int32');
        return (model.loss(new TfOps(model.params), { inputIds: t('input_ids'), attentionMask: t('attention_mask') }, t('positions'), t('labels')) as tf.Scalar).dataSync()[0];
      });
      return { loss };
    },
    saveWeights: (dir) => writeParameterFile(model.params, join(dir, 'model.safetensors')),
    loadWeights: (dir) => readParameterFile(model.params, join(dir, 'model.safetensors'), 'tiny-mlm'),
  });
  return { task, model };
}

// 16 examples / 3 = 6 micro-batches (the last of 1), 2 per step: 3 steps per epoch, 9 steps;
// clipping active (the norms are above 0.5), EMA, dev loss and a checkpoint every 3 steps.
const RECIPE: TrainConfigInput = {
  epochs: 3,
  batch_size: 3,
  grad_accum_steps: 2,
  lr: 1e-2,
  warmup_steps: 2,
  weight_decay: 0.05,
  max_grad_norm: 0.5,
  ema_decay: 0.8,
  eval_every_steps: 3,
  save_total_limit: 0,
  log_every_steps: 1,
  seed: 5,
};
const onnx = () => createOnnxEngine({ executionProviders: ['cpu'], intraOpNumThreads: 1 });
const quiet = { log: null, wallTime: () => 1_700_000_000 } as const;
const split = (history: MetricsRecord[], s: string) => history.filter((r) => r.split === s);

async function weightsOf(model: BertForMaskedLM): Promise<Map<string, Float32Array>> {
  return new Map(await Promise.all(model.params.names().map(async (n) => [n, await model.params.toFloat32(n)] as const)));
}
function maxAbsDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst;
}
function expectLossesClose(got: MetricsRecord[], want: MetricsRecord[], what: string): number {
  expect(got.map((r) => r.step), what).toEqual(want.map((r) => r.step));
  let worst = 0;
  got.forEach((r, i) => {
    const rel = Math.abs((r.loss as number) - (want[i].loss as number)) / Math.abs(want[i].loss as number);
    worst = Math.max(worst, rel);
    expect(rel, `${what} step ${r.step}`).toBeLessThan(1e-4);
  });
  return worst;
}
async function emaOf(dir: string): Promise<Map<string, Float32Array>> {
  const { tensors } = await readSafetensors(join(dir, 'ema.safetensors'));
  return new Map([...tensors].map(([n, t]) => [n, safetensorsToFloat32(t, n)]));
}

type Run = { dir: string; history: MetricsRecord[]; weights: Map<string, Float32Array> };
// The runs of the first two blocks by engine, reused by the later ones.
const runsAccumulated: Record<string, Run> = {};
const runsOneRun: Record<string, Run> = {};

describe('createOnnxEngine: train() on onnxruntime equals train() on tfjs', () => {
  const runs = runsAccumulated;

  it('9 steps with accumulation, clipping, dropout, EMA and evaluation: per-step loss within 1e-4 relative, weights and EMA within 1e-4', async () => {
    for (const engine of ['tfjs', 'onnx'] as const) {
      const { task, model } = tinyMlmTask();
      const dir = join(tmp, engine);
      const result = await train({ ...RECIPE, output_dir: dir }, task, { ...quiet, engine: engine === 'onnx' ? onnx() : undefined });
      expect(result.global_step).toBe(9);
      runs[engine] = { dir, history: result.history, weights: await weightsOf(model) };
      model.dispose();
    }
    const { tfjs, onnx: ort } = runs;
    const lossRel = expectLossesClose(split(ort.history, 'train'), split(tfjs.history, 'train'), 'train loss');
    const devRel = expectLossesClose(split(ort.history, 'dev'), split(tfjs.history, 'dev'), 'dev loss');
    // Clipping was active: every step's norm is above max_grad_norm, and the norms agree.
    split(ort.history, 'train').forEach((r, i) => {
      expect(r.grad_norm as number).toBeGreaterThan(0.5);
      expect(Math.abs((r.grad_norm as number) - (split(tfjs.history, 'train')[i].grad_norm as number))).toBeLessThan(1e-4);
    });
    const weightDiff = maxAbsDiff(ort.weights, tfjs.weights);
    const emaDiff = maxAbsDiff(await emaOf(join(ort.dir, 'checkpoint-9')), await emaOf(join(tfjs.dir, 'checkpoint-9')));
    expect(weightDiff).toBeLessThan(1e-4);
    expect(emaDiff).toBeLessThan(1e-4);
    // Training lowered the loss on both engines.
    expect(split(ort.history, 'dev').at(-1)!.loss as number).toBeLessThan(split(ort.history, 'dev')[0].loss as number);
    console.log(`onnx vs tfjs, 9 steps: train loss rel ${lossRel.toExponential(2)}, dev loss rel ${devRel.toExponential(2)}, weights ${weightDiff.toExponential(2)}, EMA ${emaDiff.toExponential(2)}`);
  }, 240_000);

  it.each([
    ['onnx', 'tfjs', 3],
    ['tfjs', 'onnx', 6],
  ] as const)('a run started on %s resumes on %s from checkpoint-%i and ends where the uninterrupted run does', async (from, to, step) => {
    const { task, model } = tinyMlmTask();
    const dir = join(tmp, `${from}-to-${to}`);
    const result = await train({ ...RECIPE, output_dir: dir }, task, { ...quiet, resumeFrom: join(runs[from].dir, `checkpoint-${step}`), engine: to === 'onnx' ? onnx() : undefined });
    expect(result.global_step).toBe(9);
    const uninterrupted = runs[to];
    expectLossesClose(split(result.history, 'train'), split(uninterrupted.history, 'train').filter((r) => r.step > step), 'train loss after resume');
    expectLossesClose(split(result.history, 'dev'), split(uninterrupted.history, 'dev').filter((r) => r.step > step), 'dev loss after resume');
    expect(maxAbsDiff(await weightsOf(model), uninterrupted.weights)).toBeLessThan(1e-4);
    expect(maxAbsDiff(await emaOf(join(dir, 'checkpoint-9')), await emaOf(join(uninterrupted.dir, 'checkpoint-9')))).toBeLessThan(1e-4);
    model.dispose();
  }, 240_000);
});

describe('createOnnxEngine: one micro-batch per step (forward, backward, clipping and AdamW in one run)', () => {
  // 6 steps per epoch, 12 steps, a checkpoint every 3.
  const ONE_RUN: TrainConfigInput = { ...RECIPE, grad_accum_steps: 1, epochs: 2 };
  const runs = runsOneRun;

  it('equals tfjs, and an onnx run resumed on onnx ends bit-identical to the uninterrupted one', async () => {
    for (const engine of ['tfjs', 'onnx'] as const) {
      const { task, model } = tinyMlmTask();
      const dir = join(tmp, `one-run-${engine}`);
      const result = await train({ ...ONE_RUN, output_dir: dir }, task, { ...quiet, engine: engine === 'onnx' ? onnx() : undefined });
      expect(result.global_step).toBe(12);
      runs[engine] = { dir, history: result.history, weights: await weightsOf(model) };
      model.dispose();
    }
    expectLossesClose(split(runs.onnx.history, 'train'), split(runs.tfjs.history, 'train'), 'train loss');
    expect(maxAbsDiff(runs.onnx.weights, runs.tfjs.weights)).toBeLessThan(1e-4);

    // One onnxruntime thread is deterministic: the resumed run's weights, EMA and losses are the same bits.
    const { task, model } = tinyMlmTask();
    const dir = join(tmp, 'one-run-resumed');
    const result = await train({ ...ONE_RUN, output_dir: dir }, task, { ...quiet, resumeFrom: join(runs.onnx.dir, 'checkpoint-6'), engine: onnx() });
    expect(result.global_step).toBe(12);
    expect(split(result.history, 'train').map((r) => r.loss)).toEqual(split(runs.onnx.history, 'train').filter((r) => r.step > 6).map((r) => r.loss));
    expect(maxAbsDiff(await weightsOf(model), runs.onnx.weights)).toBe(0);
    expect(maxAbsDiff(await emaOf(join(dir, 'checkpoint-12')), await emaOf(join(runs.onnx.dir, 'checkpoint-12')))).toBe(0);
    model.dispose();
  }, 240_000);

  it('a one-run onnx checkpoint resumes on tfjs and ends where the uninterrupted tfjs run does', async () => {
    const { task, model } = tinyMlmTask();
    const dir = join(tmp, 'one-run-onnx-to-tfjs');
    const result = await train({ ...ONE_RUN, output_dir: dir }, task, { ...quiet, resumeFrom: join(runs.onnx.dir, 'checkpoint-3') });
    expect(result.global_step).toBe(12);
    expectLossesClose(split(result.history, 'train'), split(runs.tfjs.history, 'train').filter((r) => r.step > 3), 'train loss after resume');
    expect(maxAbsDiff(await weightsOf(model), runs.tfjs.weights)).toBeLessThan(1e-4);
    model.dispose();
  }, 240_000);
});

describe('createOnnxEngine: several steps per run (steps_per_run)', () => {
  // 6 steps per epoch, 12 steps, dropout on, no EMA; a log record every 4 steps, evaluation and a
  // checkpoint at each epoch end. With steps_per_run 4 the runs are steps 1–4, 5–6, 7–8, 9–12.
  const CHAINED: TrainConfigInput = { ...RECIPE, grad_accum_steps: 1, epochs: 2, ema_decay: 0, log_every_steps: 4, eval_every_steps: 0 };

  it('gives the bits of one step per run: losses, norms, dev losses, checkpoints and weights; a resumed run too', async () => {
    const out: Record<string, { history: MetricsRecord[]; weights: Map<string, Float32Array>; aheads: number[]; dir: string }> = {};
    for (const stepsPerRun of [1, 4]) {
      const { task, model } = tinyMlmTask();
      const aheads: number[] = [];
      const spied: EngineFactory<HostBatch> = async (setup) => {
        const engine = await onnx()(setup);
        return { ...engine, microStep: (indices, ctx, groupSize, lr, ahead) => (aheads.push(ahead?.length ?? 0), engine.microStep(indices, ctx, groupSize, lr, ahead)) };
      };
      const dir = join(tmp, `chained-${stepsPerRun}`);
      const result = await train({ ...CHAINED, steps_per_run: stepsPerRun, output_dir: dir }, task, { ...quiet, engine: spied });
      expect(result.global_step).toBe(12);
      out[stepsPerRun] = { history: result.history, weights: await weightsOf(model), aheads, dir };
      model.dispose();
    }
    expect(out[1].aheads.every((n) => n === 0)).toBe(true);
    // The calls that start a run (the others return what the run took ahead).
    expect(out[4].aheads.filter((n, i) => i === 0 || out[4].aheads.slice(0, i).reduce((s, k) => s + k + 1, 0) === i || n > 0)).toEqual([3, 1, 1, 3]);
    // Every record but its timing.
    const numbers = (history: MetricsRecord[], s: string) => split(history, s).map(({ tokens_per_s: _, ...r }) => r);
    for (const s of ['train', 'dev']) expect(numbers(out[4].history, s)).toEqual(numbers(out[1].history, s));
    expect(split(out[4].history, 'train').map((r) => r.step)).toEqual([4, 8, 12]);
    expect(maxAbsDiff(out[4].weights, out[1].weights)).toBe(0);
    const saved = async (dir: string) => new Map([...(await readSafetensors(join(dir, 'model.safetensors'))).tensors].map(([n, t]) => [n, safetensorsToFloat32(t, n)]));
    for (const step of [6, 12]) expect(maxAbsDiff(await saved(join(out[4].dir, `checkpoint-${step}`)), await saved(join(out[1].dir, `checkpoint-${step}`)))).toBe(0);

    // Resumed from the epoch-1 checkpoint, four steps per run again: the same end.
    const { task, model } = tinyMlmTask();
    const result = await train({ ...CHAINED, steps_per_run: 4, output_dir: join(tmp, 'chained-resumed') }, task, { ...quiet, resumeFrom: join(out[1].dir, 'checkpoint-6'), engine: onnx() });
    // (The record at step 8 averages steps 7–8 only: its window started at the resume.)
    expect(numbers(result.history, 'train').filter((r) => r.step > 8)).toEqual(numbers(out[1].history, 'train').filter((r) => r.step > 8));
    expect(maxAbsDiff(await weightsOf(model), out[1].weights)).toBe(0);
    model.dispose();
  }, 240_000);
});

describe('createOnnxEngine: head_lr_scale (the MLM head as new parameters at 10x the lr)', () => {
  const head = (names: string[]) => names.filter((n) => n.startsWith('cls.'));
  it.each([
    ['accumulated steps', RECIPE],
    ['one micro-batch per step', { ...RECIPE, grad_accum_steps: 1, epochs: 2 }],
  ] as const)('%s: equals tfjs, differs from the unscaled run, and an onnx run resumed on onnx ends bit-identical', async (_label, recipe) => {
    const scaled = { ...recipe, head_lr_scale: 10 };
    const out: Record<string, Run> = {};
    for (const engine of ['tfjs', 'onnx'] as const) {
      const { task, model } = tinyMlmTask(head);
      const dir = join(tmp, `head-scale-${recipe.grad_accum_steps}-${engine}`);
      const result = await train({ ...scaled, output_dir: dir }, task, { ...quiet, engine: engine === 'onnx' ? onnx() : undefined });
      out[engine] = { dir, history: result.history, weights: await weightsOf(model) };
      model.dispose();
    }
    expectLossesClose(split(out.onnx.history, 'train'), split(out.tfjs.history, 'train'), 'train loss');
    expect(maxAbsDiff(out.onnx.weights, out.tfjs.weights)).toBeLessThan(1e-4);
    const unscaled = recipe.grad_accum_steps === 1 ? runsOneRun : runsAccumulated;
    expect(unscaled.tfjs, 'the unscaled run of an earlier block').toBeDefined();
    const headMoved = (w: Map<string, Float32Array>) => maxAbsDiff(new Map(head([...w.keys()]).map((n) => [n, w.get(n)!])), new Map(head([...w.keys()]).map((n) => [n, unscaled.tfjs.weights.get(n)!])));
    expect(headMoved(out.onnx.weights)).toBeGreaterThan(1e-3);

    const { task, model } = tinyMlmTask(head);
    const result = await train({ ...scaled, output_dir: join(tmp, `head-scale-${recipe.grad_accum_steps}-resumed`) }, task, { ...quiet, resumeFrom: join(out.onnx.dir, 'checkpoint-6'), engine: onnx() });
    expect(split(result.history, 'train').map((r) => r.loss)).toEqual(split(out.onnx.history, 'train').filter((r) => r.step > 6).map((r) => r.loss));
    expect(maxAbsDiff(await weightsOf(model), out.onnx.weights)).toBe(0);
    model.dispose();
  }, 240_000);
});

describe('createOnnxEngine: other recipes and errors', () => {
  it('Adam (no decay), EMA warm-up, no clipping and no accumulation also equal tfjs', async () => {
    const recipe: TrainConfigInput = { ...RECIPE, optimizer: 'adam', ema_warmup: true, max_grad_norm: 0, grad_accum_steps: 1, epochs: 1, eval_every_steps: 0 };
    const out: Record<string, { history: MetricsRecord[]; weights: Map<string, Float32Array>; ema: Map<string, Float32Array> }> = {};
    for (const engine of ['tfjs', 'onnx'] as const) {
      const { task, model } = tinyMlmTask();
      const dir = join(tmp, `adam-${engine}`);
      const result = await train({ ...recipe, output_dir: dir }, task, { ...quiet, engine: engine === 'onnx' ? onnx() : undefined });
      out[engine] = { history: split(result.history, 'train'), weights: await weightsOf(model), ema: await emaOf(result.last_checkpoint!) };
      model.dispose();
    }
    expectLossesClose(out.onnx.history, out.tfjs.history, 'adam train loss');
    expect(maxAbsDiff(out.onnx.weights, out.tfjs.weights)).toBeLessThan(1e-4);
    expect(maxAbsDiff(out.onnx.ema, out.tfjs.ema)).toBeLessThan(1e-4);
  }, 120_000);

  it('refuses a task without an Ops-level loss, naming it', async () => {
    const { task, model } = tinyMlmTask();
    const plain = { ...task, ops: undefined, name: 'plain' };
    await expect(train({ ...RECIPE, output_dir: join(tmp, 'plain') }, plain, { ...quiet, engine: onnx() })).rejects.toThrow('createOnnxEngine: task "plain" has no Ops-level loss; build it with opsTrainTask()');
    model.dispose();
  });

  const INPUTS: OpsInput[] = [
    { name: 'ids', dtype: 'int32', shape: ['batch', 4] },
    { name: 'w', dtype: 'float32', shape: [] },
  ];
  const ok: HostBatch = { ids: { data: new Int32Array(8), shape: [2, 4] }, w: { data: Float32Array.of(1), shape: [] } };
  it.each([
    ['a missing input', { w: ok.w }, "f: batch has no input 'ids' (has w)"],
    ['a wrong dtype', { ...ok, ids: { data: new Float32Array(8), shape: [2, 4] } }, "f: input 'ids' must be int32, got Float32Array"],
    ['a wrong rank', { ...ok, ids: { data: new Int32Array(8), shape: [8] } }, "f: input 'ids' has shape [8], declared [batch,4]"],
    ['a wrong static dim', { ...ok, ids: { data: new Int32Array(8), shape: [4, 2] } }, "f: input 'ids' has shape [4,2], declared [batch,4]"],
    ['a wrong length', { ...ok, ids: { data: new Int32Array(6), shape: [2, 4] } }, "f: input 'ids' has 6 values for shape [2,4]"],
  ] as const)('checkHostBatch names %s', (_what, batch, message) => {
    expect(() => checkHostBatch(INPUTS, batch as HostBatch, 'f')).toThrow(message);
  });
  it('checkHostBatch accepts a batch that fits', () => {
    expect(() => checkHostBatch(INPUTS, ok, 'f')).not.toThrow();
  });
});
