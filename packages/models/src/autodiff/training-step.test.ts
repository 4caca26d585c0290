import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { clipByGlobalNorm, createAdamW } from '@proj/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { BertForMaskedLM } from '../bert/model';
import { GraphOps } from '../ops/graph-ops';
import { TfOps } from '../ops/tf-ops';
import { graphRunner, maxAbs, recordTinyBertLoss, tfInt32, tinyBertBatch, tinyBertFeeds, tinyBertLoss, TINY_BERT, type HostTensor } from './testing';
import { buildTrainingStep, TRAINING_STEP_NAMES as N } from './training-step';

let model: BertForMaskedLM;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = BertForMaskedLM.random(TINY_BERT, new Rng(11));
});
afterAll(() => model.dispose());

const MAX_NORM = 0.5;
const STEPS = [
  { lr: 1e-2, seed: 1 },
  { lr: 4e-3, seed: 2 },
];

describe('buildTrainingStep: forward + backward + clipping + AdamW as one graph', () => {
  it('two steps on onnxruntime equal @proj/trainer clipByGlobalNorm + createAdamW on tfjs (params, m, v within 1e-5)', async () => {
    // The key biases stay frozen: their gradient is 0 in exact arithmetic (softmax ignores a
    // per-query shift), and Adam's m / √v turns either engine's float noise into a full-size step.
    const frozen = model.params.names().filter((n) => n.endsWith('attention.self.key.bias'));
    const names = model.params.names().filter((n) => !frozen.includes(n));
    const frozenValues = new Map(await Promise.all(frozen.map(async (n) => [n, await model.params.toFloat32(n)] as const)));
    const g = new GraphOps(model.params);
    g.output(recordTinyBertLoss(g, model), 'loss');
    const graph = buildTrainingStep(g.toGraph(), { loss: 'loss', trainable: names, maxGradNorm: MAX_NORM, weightDecay: 0.05 });
    expect(graph.initializers.filter((i) => i.kind === 'parameter').map((i) => i.name)).toEqual(frozen);
    const runner = await graphRunner(graph, { parameters: (n) => frozenValues.get(n)! });

    // onnxruntime: the state starts at the initial weights and zero moments, and is fed back each step.
    const state = new Map<string, HostTensor>();
    for (const n of names) {
      const dims = model.params.shape(n);
      const data = await model.params.toFloat32(n);
      state.set(n, { data, dims });
      state.set(N.m(n), { data: new Float32Array(data.length), dims });
      state.set(N.v(n), { data: new Float32Array(data.length), dims });
    }
    const onnxNorms: number[] = [];
    const onnxLosses: number[] = [];
    try {
      for (const [t, { lr, seed }] of STEPS.entries()) {
        const scalar = (v: number): HostTensor => ({ data: Float32Array.of(v), dims: [] });
        const out = await runner.run({
          ...tinyBertFeeds(tinyBertBatch(new Rng(seed))),
          ...Object.fromEntries(state),
          [N.lr]: scalar(lr),
          [N.biasCorrection1]: scalar(1 - 0.9 ** (t + 1)),
          [N.biasCorrection2Sqrt]: scalar(Math.sqrt(1 - 0.999 ** (t + 1))),
        });
        onnxLosses.push(out.loss[0]);
        onnxNorms.push(out[N.gradNorm][0]);
        for (const n of names) {
          const dims = model.params.shape(n);
          state.set(n, { data: out[N.updated(n)], dims });
          state.set(N.m(n), { data: out[N.updatedM(n)], dims });
          state.set(N.v(n), { data: out[N.updatedV(n)], dims });
        }
      }
    } finally {
      await runner.release();
    }

    // tfjs: the trainer's clipping and optimizer on the same model code (this moves the model's weights).
    const ops = new TfOps(model.params);
    const optimizer = createAdamW(new Map(names.map((n) => [n, model.params.get(n)])), { weightDecay: 0.05 });
    for (const [t, { lr, seed }] of STEPS.entries()) {
      const x = tinyBertBatch(new Rng(seed));
      const { value, grads } = model.params.grads(() => tinyBertLoss(ops, model, x, tfInt32) as tf.Scalar);
      for (const n of frozen) grads.get(n)!.dispose();
      const { grads: clipped, norm } = clipByGlobalNorm(new Map(names.map((n) => [n, grads.get(n)!])), MAX_NORM);
      optimizer.apply(clipped, lr);
      expect(onnxLosses[t]).toBeCloseTo(value.dataSync()[0], 5);
      // The clipping is active (the norm is above maxNorm) and measured alike.
      expect(norm).toBeGreaterThan(MAX_NORM);
      expect(Math.abs(onnxNorms[t] - norm)).toBeLessThan(1e-5 * norm);
      tf.dispose([value, ...names.map((n) => grads.get(n)!), ...clipped.values()]);
    }
    const slots = optimizer.exportState().slots;
    let worst = 0;
    for (const n of names) {
      const pairs: [Float32Array, Float32Array, string][] = [
        [state.get(n)!.data as Float32Array, await model.params.toFloat32(n), n],
        [state.get(N.m(n))!.data as Float32Array, slots.get(`m.${n}`)!.data, N.m(n)],
        [state.get(N.v(n))!.data as Float32Array, slots.get(`v.${n}`)!.data, N.v(n)],
      ];
      for (const [got, want, what] of pairs) {
        const diff = maxAbs(got.map((v, i) => v - want[i]));
        worst = Math.max(worst, diff);
        expect(diff, what).toBeLessThan(1e-5);
      }
    }
    optimizer.dispose();
    console.log(`training step: ${names.length} parameters, norms ${onnxNorms.map((v) => v.toFixed(4))}, worst |onnx - tfjs| over params, m, v = ${worst.toExponential(2)}`);
  });
});
