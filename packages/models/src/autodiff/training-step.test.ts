import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { clipByGlobalNorm, createAdamW, GradAccumulator } from '@proj/trainer';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { BertForMaskedLM } from '../bert/model';
import { GraphOps } from '../ops/graph-ops';
import { TfOps } from '../ops/tf-ops';
import { graphRunner, maxAbs, recordTinyBertLoss, tfInt32, tinyBertBatch, tinyBertFeeds, tinyBertLoss, TINY_BERT, type HostTensor } from './testing';
import { buildGradientStep, buildOptimizerStep, buildTrainingStep, chainTrainingSteps, TRAINING_STEP_NAMES as N } from './training-step';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const MAX_NORM = 0.5;
const WEIGHT_DECAY = 0.05;
const scalar = (v: number): HostTensor => ({ data: Float32Array.of(v), dims: [] });
/** lr and AdamW's bias corrections of 1-based step t. */
const stepScalars = (lr: number, t: number) => ({ [N.lr]: scalar(lr), [N.biasCorrection1]: scalar(1 - 0.9 ** t), [N.biasCorrection2Sqrt]: scalar(Math.sqrt(1 - 0.999 ** t)) });

/**
 * A tiny BERT whose key biases stay frozen: their gradient is 0 in exact arithmetic (softmax
 * ignores a per-query shift), and Adam's m / √v turns either engine's float noise into a full-size
 * step. Also the onnxruntime state: the initial weights and zero moments.
 */
async function setup() {
  const model = BertForMaskedLM.random(TINY_BERT, new Rng(11));
  const frozen = model.params.names().filter((n) => n.endsWith('attention.self.key.bias'));
  const names = model.params.names().filter((n) => !frozen.includes(n));
  const frozenValues = new Map(await Promise.all(frozen.map(async (n) => [n, await model.params.toFloat32(n)] as const)));
  const state = new Map<string, HostTensor>();
  for (const n of names) {
    const dims = model.params.shape(n);
    const data = await model.params.toFloat32(n);
    state.set(n, { data, dims });
    state.set(N.m(n), { data: new Float32Array(data.length), dims });
    state.set(N.v(n), { data: new Float32Array(data.length), dims });
  }
  const g = new GraphOps(model.params);
  g.output(recordTinyBertLoss(g, model), 'loss');
  return { model, frozen, names, state, forward: g.toGraph(), parameters: (n: string) => frozenValues.get(n)! };
}

/** Takes the updated params and moments of an onnxruntime step's outputs into `state`. */
function advance(state: Map<string, HostTensor>, out: Record<string, Float32Array>, names: string[], model: BertForMaskedLM): void {
  for (const n of names) {
    const dims = model.params.shape(n);
    state.set(n, { data: out[N.updated(n)], dims });
    state.set(N.m(n), { data: out[N.updatedM(n)], dims });
    state.set(N.v(n), { data: out[N.updatedV(n)], dims });
  }
}

/** Max |onnx − tfjs| over params, m and v; each within 1e-5. */
async function compareWithTrainer(state: Map<string, HostTensor>, names: string[], model: BertForMaskedLM, slots: Map<string, { data: Float32Array }>): Promise<number> {
  let worst = 0;
  for (const n of names) {
    for (const [got, want, what] of [
      [state.get(n)!.data, await model.params.toFloat32(n), n],
      [state.get(N.m(n))!.data, slots.get(`m.${n}`)!.data, N.m(n)],
      [state.get(N.v(n))!.data, slots.get(`v.${n}`)!.data, N.v(n)],
    ] as const) {
      const diff = maxAbs(got.map((v, i) => v - want[i]));
      worst = Math.max(worst, diff);
      expect(diff, what).toBeLessThan(1e-5);
    }
  }
  return worst;
}

describe('training steps on onnxruntime equal @proj/trainer clipByGlobalNorm + createAdamW on tfjs', () => {
  // The MLM head at 10x and the embeddings LayerNorm at 0.5x: two scales besides 1, decayed and not.
  const headScale = (n: string) => (n.startsWith('cls.') ? 10 : n.startsWith('bert.embeddings.LayerNorm') ? 0.5 : 1);
  it.each([
    ['one lr', undefined],
    ['lrScale 10 on the MLM head, 0.5 on a LayerNorm', headScale],
  ] as const)('buildTrainingStep, %s: two steps of forward + backward + clipping + AdamW as one graph (params, m, v within 1e-5)', async (_label, lrScale) => {
    const { model, frozen, names, state, forward, parameters } = await setup();
    const steps = [{ lr: 1e-2, seed: 1 }, { lr: 4e-3, seed: 2 }];
    const graph = buildTrainingStep(forward, { loss: 'loss', trainable: names, maxGradNorm: MAX_NORM, weightDecay: WEIGHT_DECAY, lrScale });
    expect(graph.initializers.filter((i) => i.kind === 'parameter').map((i) => i.name)).toEqual(frozen);
    const runner = await graphRunner(graph, { parameters });
    const norms: number[] = [];
    const losses: number[] = [];
    try {
      for (const [t, { lr, seed }] of steps.entries()) {
        const out = await runner.run({ ...tinyBertFeeds(tinyBertBatch(new Rng(seed))), ...Object.fromEntries(state), ...stepScalars(lr, t + 1) });
        losses.push(out.loss[0]);
        norms.push(out[N.gradNorm][0]);
        advance(state, out, names, model);
      }
    } finally {
      await runner.release();
    }

    // tfjs: the trainer's clipping and optimizer on the same model code (this moves the model's weights).
    const ops = new TfOps(model.params);
    const optimizer = createAdamW(new Map(names.map((n) => [n, model.params.get(n)])), { weightDecay: WEIGHT_DECAY, lrScale });
    for (const [t, { lr, seed }] of steps.entries()) {
      const { value, grads } = model.params.grads(() => tinyBertLoss(ops, model, tinyBertBatch(new Rng(seed)), tfInt32) as tf.Scalar);
      const { grads: clipped, norm } = clipByGlobalNorm(new Map(names.map((n) => [n, grads.get(n)!])), MAX_NORM);
      optimizer.apply(clipped, lr);
      expect(losses[t]).toBeCloseTo(value.dataSync()[0], 5);
      // The clipping is active (the norm is above maxNorm) and measured alike.
      expect(norm).toBeGreaterThan(MAX_NORM);
      expect(Math.abs(norms[t] - norm)).toBeLessThan(1e-5 * norm);
      tf.dispose([value, ...grads.values(), ...clipped.values()]);
    }
    const worst = await compareWithTrainer(state, names, model, optimizer.exportState().slots);
    optimizer.dispose();
    model.dispose();
    console.log(`training step: ${names.length} parameters, norms ${norms.map((v) => v.toFixed(4))}, worst |onnx - tfjs| over params, m, v = ${worst.toExponential(2)}`);
  });

  it('chainTrainingSteps: three steps in one graph give the bits of three runs of the step graph (losses, norms, params, m, v)', async () => {
    const { names, state, forward, parameters } = await setup();
    const steps = [{ lr: 1e-2, seed: 1 }, { lr: 4e-3, seed: 2 }, { lr: 2e-3, seed: 3 }];
    const graph = buildTrainingStep(forward, { loss: 'loss', trainable: names, maxGradNorm: MAX_NORM, weightDecay: WEIGHT_DECAY });
    const chained = chainTrainingSteps(graph, names, steps.length);
    // Weights and moments come in once and go out once; everything else once per step.
    const perStep = graph.inputs.filter((i) => !state.has(i.name));
    expect(chained.inputs.map((i) => i.name).sort()).toEqual([...state.keys(), ...steps.flatMap((_, j) => perStep.map((i) => N.ofStep(j, i.name)))].sort());
    expect(chained.outputs.filter((o) => o.name.startsWith('updated.')).length).toBe(3 * names.length);
    expect(chained.nodes.length).toBe(steps.length * graph.nodes.length);

    const sequential = { state: new Map(state), losses: [] as number[], norms: [] as number[] };
    const one = await graphRunner(graph, { parameters });
    try {
      for (const [t, { lr, seed }] of steps.entries()) {
        const out = await one.run({ ...tinyBertFeeds(tinyBertBatch(new Rng(seed))), ...Object.fromEntries(sequential.state), ...stepScalars(lr, t + 1) });
        sequential.losses.push(out.loss[0]);
        sequential.norms.push(out[N.gradNorm][0]);
        for (const n of names) for (const [key, outKey] of [[n, N.updated(n)], [N.m(n), N.updatedM(n)], [N.v(n), N.updatedV(n)]]) sequential.state.set(key, { data: out[outKey], dims: state.get(key)!.dims });
      }
    } finally {
      await one.release();
    }
    const all = await graphRunner(chained, { parameters });
    try {
      const feeds: Record<string, HostTensor> = Object.fromEntries(state);
      for (const [t, { lr, seed }] of steps.entries()) {
        for (const [name, value] of Object.entries({ ...tinyBertFeeds(tinyBertBatch(new Rng(seed))), ...stepScalars(lr, t + 1) })) feeds[N.ofStep(t, name)] = value;
      }
      const out = await all.run(feeds);
      expect(steps.map((_, j) => out[N.ofStep(j, 'loss')][0])).toEqual(sequential.losses);
      expect(steps.map((_, j) => out[N.ofStep(j, N.gradNorm)][0])).toEqual(sequential.norms);
      for (const n of names) {
        expect(out[N.updated(n)]).toEqual(sequential.state.get(n)!.data);
        expect(out[N.updatedM(n)]).toEqual(sequential.state.get(N.m(n))!.data);
        expect(out[N.updatedV(n)]).toEqual(sequential.state.get(N.v(n))!.data);
      }
      // The steps did move the weights (the comparison is not of three no-ops).
      expect(maxAbs(out[N.updated(names[0])].map((x, i) => x - state.get(names[0])!.data[i]))).toBeGreaterThan(1e-4);
    } finally {
      await all.release();
    }
    expect(() => chainTrainingSteps(graph, names, 0)).toThrow(/k must be an integer >= 1, got 0/);
    expect(() => chainTrainingSteps(forward, names, 2)).toThrow(/has no input '.*' or output/);
  });

  it('the lr scales change the step: a scaled graph moves the head 10x as far at the first step (Adam steps are ±lr at t = 1)', async () => {
    const { model, names, state } = await setup();
    const shapes = names.map((n) => ({ name: n, shape: model.params.shape(n) }));
    const feeds = { ...Object.fromEntries(state), ...Object.fromEntries(names.map((n) => [N.grad(n), { data: state.get(n)!.data.map((_, i) => ((i % 7) - 3) * 1e-3), dims: model.params.shape(n) }])), ...stepScalars(1e-3, 1) };
    const moves: Record<string, number>[] = [];
    for (const lrScale of [undefined, headScale]) {
      const runner = await graphRunner(buildOptimizerStep(shapes, { maxGradNorm: 0, weightDecay: 0, lrScale }));
      try {
        const out = await runner.run(feeds);
        moves.push(Object.fromEntries(names.map((n) => [n, maxAbs(out[N.updated(n)].map((v, i) => v - state.get(n)!.data[i]))])));
      } finally {
        await runner.release();
      }
    }
    const head = names.find((n) => n.startsWith('cls.'))!;
    const body = names.find((n) => n.startsWith('bert.encoder.'))!;
    expect(moves[1][head] / moves[0][head]).toBeCloseTo(10, 4);
    expect(moves[1][body]).toBe(moves[0][body]);
    expect(() => buildOptimizerStep(shapes, { maxGradNorm: 0, lrScale: () => 0 })).toThrow(/recordOptimizerStep: options.lrScale\(".*"\) must be a finite number > 0, got 0/);
    model.dispose();
  });

  it('buildGradientStep x 2 micro-batches, then buildOptimizerStep: equal the trainer loop (loss / k, GradAccumulator, clip, AdamW)', async () => {
    const { model, names, state, forward, parameters } = await setup();
    const seeds = [1, 2];
    const lr = 1e-2;
    const gradRunner = await graphRunner(buildGradientStep(forward, { loss: 'loss', trainable: names }), { parameters });
    const optRunner = await graphRunner(buildOptimizerStep(names.map((n) => ({ name: n, shape: model.params.shape(n) })), { maxGradNorm: MAX_NORM, weightDecay: WEIGHT_DECAY }));
    const sums = new Map(names.map((n) => [n, { data: new Float32Array(state.get(n)!.data.length), dims: model.params.shape(n) } as HostTensor]));
    let norm = 0;
    try {
      for (const seed of seeds) {
        const out = await gradRunner.run({
          ...tinyBertFeeds(tinyBertBatch(new Rng(seed))),
          ...Object.fromEntries(names.map((n) => [n, state.get(n)!])),
          ...Object.fromEntries(names.map((n) => [N.gradSum(n), sums.get(n)!])),
          [N.microBatches]: scalar(seeds.length),
        });
        for (const n of names) sums.set(n, { data: out[N.updatedGradSum(n)], dims: model.params.shape(n) });
      }
      const out = await optRunner.run({ ...Object.fromEntries(state), ...Object.fromEntries(names.map((n) => [N.grad(n), sums.get(n)!])), ...stepScalars(lr, 1) });
      norm = out[N.gradNorm][0];
      advance(state, out, names, model);
    } finally {
      await gradRunner.release();
      await optRunner.release();
    }

    // tfjs, as train() of @proj/trainer does a group of micro-batches.
    const ops = new TfOps(model.params);
    const optimizer = createAdamW(new Map(names.map((n) => [n, model.params.get(n)])), { weightDecay: WEIGHT_DECAY });
    const accumulator = new GradAccumulator();
    for (const seed of seeds) {
      const { value, grads } = model.params.grads(() => tf.div(tinyBertLoss(ops, model, tinyBertBatch(new Rng(seed)), tfInt32), seeds.length) as tf.Scalar);
      accumulator.add(new Map(names.map((n) => [n, grads.get(n)!])));
      tf.dispose([value, ...grads.values()]);
    }
    const summed = accumulator.take();
    for (const n of names) expect(maxAbs(sums.get(n)!.data.map((v, i) => v - (summed.get(n)!.dataSync()[i] as number))), `grad sum of ${n}`).toBeLessThan(1e-6);
    const clipped = clipByGlobalNorm(summed, MAX_NORM);
    expect(clipped.norm).toBeGreaterThan(MAX_NORM);
    expect(Math.abs(norm - clipped.norm)).toBeLessThan(1e-5 * clipped.norm);
    optimizer.apply(clipped.grads, lr);
    tf.dispose([...summed.values(), ...clipped.grads.values()]);
    const worst = await compareWithTrainer(state, names, model, optimizer.exportState().slots);
    optimizer.dispose();
    model.dispose();
    console.log(`accumulated step: ${seeds.length} micro-batches, norm ${norm.toFixed(4)}, worst |onnx - tfjs| over params, m, v = ${worst.toExponential(2)}`);
  });
});
