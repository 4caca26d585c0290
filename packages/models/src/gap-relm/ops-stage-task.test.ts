import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@proj/core';
import { ConfusionSet, ErrorGenerator } from '@proj/data-synth';
import { cscMetrics } from '@proj/metrics';
import { train, type MetricsRecord, type TrainConfigInput } from '@proj/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { createOnnxEngine } from '../train-engine/onnx-engine';
import type { HostBatch } from '../train-engine/ops-task';
import type { BertTokenizer } from '../tokenizers/bert-tokenizer';
import { onlineExamples } from './example-source';
import { GapRelm } from './gap-relm';
import { createOpsStageTask } from './ops-stage-task';
import { decodeDev } from './stage-parts';
import { STAGES, type StageName } from './tasks';
import type { GapRelmConfigInput } from './config';
import { charTokenizer, corpusSentences, TINY } from './testing';

const CONFUSION = ConfusionSet.fromRecord({ 的: '嘚', 是: '昰', 一: '弌' });
// Replacements, deletions (skip) and insertions (multiply), so every planner op and insert count occurs.
const generator = new ErrorGenerator({ pi_skip: 0.3, pi_multiply: 0.3, pi_replace: 0.4, p_corrupt: 0.7, max_edits_per_sent: 2, seed: 7 }, CONFUSION);

let sentences: string[];
let tokenizer: BertTokenizer;
let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  sentences = corpusSentences(4000, 6, 14).filter((s) => /[的是一]/u.test(s)).slice(0, 40);
  tokenizer = charTokenizer(sentences, CONFUSION);
  dir = await mkdtemp(join(tmpdir(), 'gap-relm-ops-task-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * P-tuning LSTM prompts, dropout on, the auxiliary MLM and BERT-CSC terms on, the template on its
 * source's positions with slot hints, scheduled sampling in every other batch or so.
 */
const MODEL = { ...TINY, dropout: 0.1, ptuning: 'lstm' as const, aux_mlm_weight: 0.5, aux_csc_weight: 0.3, infiller_positions: 'aligned' as const, slot_hint: 'source_token' as const, infill_weight: 0.8, ss_start: 0.5, ss_end: 0.5 };
// 40 examples / 6 = 7 micro-batches (the last of 4), 2 per step: 4 steps; clipping active.
const RECIPE: TrainConfigInput = { epochs: 1, batch_size: 6, grad_accum_steps: 2, lr: 3e-3, warmup_steps: 1, max_grad_norm: 0.5, ema_decay: 0.9, log_every_steps: 1, seed: 3 };

async function run(stage: StageName, engine: 'tfjs' | 'onnx', config: GapRelmConfigInput = {}) {
  const model = GapRelm.create({ ...MODEL, ...config }, tokenizer, 5);
  const task = createOpsStageTask(stage, model, { train: onlineExamples(sentences, generator, 1), totalSteps: 4 });
  // Key biases have a zero gradient in exact arithmetic (softmax ignores a per-query shift), and
  // Adam turns either engine's float noise there into full-size steps: not trained here.
  const base = task.trainable!;
  task.trainable = (name) => base(name) && !name.endsWith('attention.self.key.bias');
  const result = await train({ ...RECIPE, output_dir: join(dir, `${stage}-${engine}${config.share_encoder ? '-shared' : ''}`) }, task, {
    log: null,
    engine: engine === 'onnx' ? createOnnxEngine({ executionProviders: ['cpu'], intraOpNumThreads: 1 }) : undefined,
  });
  const weights = new Map(await Promise.all(model.store.names().map(async (n) => [n, await model.store.toFloat32(n)] as const)));
  model.dispose();
  return { history: result.history.filter((r: MetricsRecord) => r.split === 'train'), weights, stats: { ...task.stats } };
}

/** 4 steps on both engines: per-step loss within 1e-4 relative, a real gradient each step, weights within 1e-4. */
function expectSameTraining(tfjs: Awaited<ReturnType<typeof run>>, onnx: Awaited<ReturnType<typeof run>>): void {
  expect(onnx.history.map((r) => r.step)).toEqual([1, 2, 3, 4]);
  onnx.history.forEach((r, i) => {
    const want = tfjs.history[i].loss as number;
    expect(Math.abs((r.loss as number) - want) / want, `step ${r.step}`).toBeLessThan(1e-4);
    expect(r.grad_norm as number).toBeGreaterThan(0); // a real gradient reached the weights
  });
  let worst = 0;
  for (const [name, w] of onnx.weights) {
    const t = tfjs.weights.get(name)!;
    for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(w[i] - t[i]));
  }
  expect(worst).toBeLessThan(1e-4);
}

describe('createOpsStageTask: each Gap-ReLM stage trains the same on tfjs and onnxruntime', () => {
  it.each(STAGES.map((s) => [s]))('%s: 4 steps, per-step loss within 1e-4 relative, weights within 1e-4', async (stage) => {
    const tfjs = await run(stage, 'tfjs');
    const onnx = await run(stage, 'onnx');
    expectSameTraining(tfjs, onnx);
    // Scheduled sampling drew the same batches on both engines, and some were drawn.
    expect(onnx.stats).toEqual(tfjs.stats);
    if (stage === 'joint_finetune') expect(onnx.stats.scheduledBatches).toBeGreaterThan(0);
  }, 300_000);
});

describe('createOpsStageTask: planner_train on a shared encoder (share_encoder)', () => {
  it('trains the encoder and, by BERT-CSC on the planner\'s pass, the MLM head: the same on tfjs and onnxruntime', async () => {
    const shared = { share_encoder: true } as const;
    const tfjs = await run('planner_train', 'tfjs', shared);
    const onnx = await run('planner_train', 'onnx', shared);
    expectSameTraining(tfjs, onnx);
    // The encoder and the MLM head moved (from the same seed's weights); no planner.bert.* exists.
    const start = GapRelm.create({ ...MODEL, ...shared }, tokenizer, 5);
    try {
      for (const name of ['infiller.bert.encoder.layer.0.output.dense.weight', 'infiller.cls.predictions.transform.dense.weight', 'planner.planner.op_head.weight']) {
        const before = await start.store.toFloat32(name);
        expect(before.some((v, i) => Math.abs(v - onnx.weights.get(name)![i]) > 1e-6), name).toBe(true);
      }
    } finally {
      start.dispose();
    }
    expect([...onnx.weights.keys()].some((n) => n.startsWith('planner.bert.'))).toBe(false);
  }, 300_000);

  it('the dev loss is reported without the BERT-CSC term too, and that term is what separates them', async () => {
    const model = GapRelm.create({ ...MODEL, share_encoder: true, ss_start: 0, ss_end: 0 }, tokenizer, 5);
    try {
      const dev = onlineExamples(sentences, generator, 2);
      const task = createOpsStageTask('planner_train', model, { train: dev, dev, devEvalLimit: 16, evalBatchSize: 8 });
      expect(task.ops.inputs.map((i) => i.name)).toContain('planner_csc_labels');
      // The trainer's group_by_length reads the example source's sizes.
      expect(task.exampleLength!(4)).toBe(sentences[4].length);
      const metrics = await task.evaluate!({ epoch: 0, step: 0 });
      // A random MLM head over the vocabulary costs about ln(V) nats per source token.
      expect(metrics.loss - metrics.loss_without_aux).toBeGreaterThan(0.5 * MODEL.aux_csc_weight * Math.log(tokenizer.vocab.size));
    } finally {
      model.dispose();
    }
  }, 120_000);
});

describe('createOpsStageTask: evaluation', () => {
  it.each(STAGES.map((s) => [s]))('%s: the dev loss is the mean of the per-batch losses on TfOps without dropout; F1 is decodeDev\'s', async (stage) => {
    // No scheduled sampling, so batch() of the dev examples draws only the aux masking, from the rng given.
    const model = GapRelm.create({ ...MODEL, ss_start: 0, ss_end: 0 }, tokenizer, 5);
    try {
      const dev = onlineExamples(sentences, generator, 2);
      // Low thresholds: the random model edits, so P/R/F1 score real decisions.
      const options = { train: dev, dev, devEvalLimit: 24, evalBatchSize: 8, decode: { deleteThreshold: 0.3, replaceThreshold: 0.3, insertThreshold: 0.3 } };
      const task = createOpsStageTask(stage, model, options);
      const metrics = await task.evaluate!({ epoch: 0, step: 0 });
      // By hand: dev examples 0-23 in batches of 8 through batch() (aux masks from a fresh Rng(0)
      // per batch, as evaluation fixes them), each batch's loss on TfOps without `training`.
      const batches: HostBatch[] = [];
      const losses: number[] = [];
      const withoutAux: number[] = [];
      const lossOf = (batch: HostBatch) =>
        tf.tidy(() => {
          const x: Record<string, tf.Tensor> = {};
          for (const { name, dtype } of task.ops.inputs) x[name] = tf.tensor(batch[name].data, batch[name].shape, dtype);
          return (task.ops.loss(new TfOps(model.store), x) as tf.Scalar).dataSync()[0];
        });
      for (let first = 0; first < 24; first += 8) {
        const batch = await task.batch(Array.from({ length: 8 }, (_, i) => first + i), { epoch: 0, batchIndex: 0, step: 0, rng: new Rng(0), training: true });
        batches.push(batch);
        losses.push(lossOf(batch));
        const zero = { data: Float32Array.of(0), shape: [] };
        if (batch.aux_weight) withoutAux.push(lossOf({ ...batch, aux_weight: zero, csc_weight: zero }));
      }
      expect(new Set(losses).size).toBe(3);
      expect(Math.abs(metrics.loss - (losses[0] + losses[1] + losses[2]) / 3) / metrics.loss).toBeLessThan(1e-6);
      // The aux MLM and BERT-CSC terms are on where the infiller trains: the dev loss without them is reported too.
      if (stage === 'planner_train') expect(metrics.loss_without_aux).toBeUndefined();
      else {
        expect(withoutAux).toHaveLength(3);
        expect(Math.abs(metrics.loss_without_aux - (withoutAux[0] + withoutAux[1] + withoutAux[2]) / 3) / metrics.loss_without_aux).toBeLessThan(1e-6);
        expect(metrics.loss_without_aux).toBeLessThan(metrics.loss - 0.5);
      }
      // With dropout (training) the loss differs: evaluation really ran without it.
      const trained = tf.tidy(() => (task.loss(batches[0], { epoch: 0, batchIndex: 0, step: 0, rng: new Rng(1), training: true }) as tf.Scalar).dataSync()[0]);
      expect(trained).not.toBe(losses[0]);
      const pairs = await Promise.all(Array.from({ length: 24 }, (_, i) => dev.get(i, 0)));
      const corrected = await decodeDev(model, pairs.map((p) => p.source), options);
      expect(corrected.filter((c) => c.corrected !== c.source).length).toBeGreaterThan(3);
      const m = cscMetrics(pairs.map((p) => p.source), pairs.map((p) => p.target), corrected.map((c) => c.corrected)).sentence.correction;
      expect({ f1: metrics.f1, precision: metrics.precision, recall: metrics.recall }).toEqual({ f1: m.f1, precision: m.precision, recall: m.recall });
    } finally {
      model.dispose();
    }
  }, 120_000);

  it('evalEngine onnx: the dev loss (within 1e-5) and the decoded corrections equal tfjs\'s, from onnxruntime sessions of the current weights', async () => {
    const model = GapRelm.create({ ...MODEL, aux_mlm_weight: 0, aux_csc_weight: 0 }, tokenizer, 5);
    try {
      // Low thresholds: the random model edits, so equal outputs compare real decisions.
      const decode = { deleteThreshold: 0.3, replaceThreshold: 0.3, insertThreshold: 0.3 };
      const base = { train: onlineExamples(sentences, generator, 1), decode };
      const sources = sentences.slice(0, 16);
      const onTfjs = await decodeDev(model, sources, base);
      const onOnnx = await decodeDev(model, sources, { ...base, evalEngine: 'onnx', evalSessions: { executionProviders: ['cpu'], intraOpNumThreads: 1 } });
      expect(onOnnx.map((c) => c.corrected)).toEqual(onTfjs.map((c) => c.corrected));
      expect(onTfjs.filter((c) => c.corrected !== c.source).length).toBeGreaterThan(3);
      const dev = onlineExamples(sentences, generator, 2);
      const evaluate = (evalEngine: 'tfjs' | 'onnx') => createOpsStageTask('joint_finetune', model, { ...base, dev, devEvalLimit: 24, evalEngine, evalSessions: { executionProviders: ['cpu'], intraOpNumThreads: 1 } }).evaluate!({ epoch: 0, step: 0 });
      const [onnx, tfjs] = [await evaluate('onnx'), await evaluate('tfjs')];
      expect(Math.abs(onnx.loss - tfjs.loss) / tfjs.loss).toBeLessThan(1e-5);
      expect({ ...onnx, loss: 0 }).toEqual({ ...tfjs, loss: 0 });
    } finally {
      model.dispose();
    }
  }, 120_000);
});
