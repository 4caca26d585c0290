import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendGradients } from '../autodiff/gradients';
import { graphRunner, maxAbs } from '../autodiff/testing';
import { initBackend } from '../backend/init-backend';
import { initLinear } from '../layers/linear';
import { moeFeedForward, topKMask, type MoeNames } from '../layers/moe';
import { GraphOps, parametersAsInputs } from '../ops/graph-ops';
import { ParameterStore } from '../ops/parameter-store';
import { TfOps } from '../ops/tf-ops';
import { CAUSAL_LM_PRESETS, parseCausalLmConfig } from './config';
import { CausalLm, causalLmParameterShapes } from './model';
import { causalLmToOnnx, recordCausalLm } from './onnx';

const count = (shapes: Map<string, number[]>) => [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
const TINY_MOE = { ...CAUSAL_LM_PRESETS.tiny, use_moe: true, num_experts: 4, num_experts_per_tok: 2, n_shared_experts: 1, moe_intermediate_size: 16, initializer_range: 0.2 } as const;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** A store with a router and SwiGLU experts of width m over hidden h. */
function moeStore(h: number, m: number, numExperts: number, numShared: number, rng: Rng): { store: ParameterStore; names: MoeNames } {
  const store = new ParameterStore();
  const names: MoeNames = { router: 'moe.gate', experts: Array.from({ length: numExperts }, (_, e) => `moe.experts.${e}`), shared: Array.from({ length: numShared }, (_, s) => `moe.shared.${s}`) };
  initLinear(store, names.router, h, numExperts, 0.5, rng, false);
  for (const p of [...names.experts, ...names.shared]) {
    initLinear(store, `${p}.gate_proj`, h, m, 0.3, rng, false);
    initLinear(store, `${p}.up_proj`, h, m, 0.3, rng, false);
    initLinear(store, `${p}.down_proj`, m, h, 0.3, rng, false);
  }
  return { store, names };
}

/** y = W x for W [out, in] (row-major) and x [in]. */
const matVec = (w: Float32Array, x: ArrayLike<number>, out: number) => Array.from({ length: out }, (_, o) => Array.from(x).reduce((s, v, i) => s + w[o * x.length + i] * v, 0));

describe('MoE presets', () => {
  it('minimind-moe-45m has 43,934,208 parameters and cpu-small-moe 2,493,568 (4 routed experts, top-2, 1 shared)', () => {
    const big = parseCausalLmConfig(CAUSAL_LM_PRESETS['minimind-moe-45m']);
    const expertFfn = (h: number, m: number) => 5 * 3 * h * m + 4 * h; // 4 routed + 1 shared SwiGLU, router [4, h]
    expect(count(causalLmParameterShapes(big))).toBe(6400 * 512 + 8 * (2 * 512 * 512 + 2 * 128 * 512 + expertFfn(512, 576) + 2 * 512) + 512);
    expect(count(causalLmParameterShapes(big))).toBe(43_934_208);
    const small = parseCausalLmConfig(CAUSAL_LM_PRESETS['cpu-small-moe']);
    expect(count(causalLmParameterShapes(small))).toBe(2_493_568);
    expect(causalLmParameterShapes(small).get('model.layers.3.mlp.experts.3.down_proj.weight')).toEqual([128, 192]);
    expect(causalLmParameterShapes(small).get('model.layers.0.mlp.shared_experts.gate_proj.weight')).toEqual([192, 128]);
    expect(causalLmParameterShapes(small).get('model.layers.0.mlp.gate.weight')).toEqual([4, 128]);
    expect(() => parseCausalLmConfig({ use_moe: true, num_experts: 2, num_experts_per_tok: 3 })).toThrow('num_experts_per_tok must be <= num_experts (2), got 3');
  });
});

describe('MoE routing', () => {
  it('topKMask marks exactly the k largest entries of each row (200 seeded rows, k = 1..4 of 6)', () => {
    const rng = new Rng(11);
    const ops = new TfOps(new ParameterStore());
    for (let k = 1; k <= 4; k++) {
      const rows = Array.from({ length: 50 }, () => Array.from({ length: 6 }, () => rng.float()));
      const mask = tf.tidy(() => topKMask(ops, tf.tensor2d(rows), k).arraySync() as number[][]);
      rows.forEach((row, r) => {
        const kth = [...row].sort((a, b) => b - a)[k - 1];
        expect(mask[r].reduce((a, b) => a + b, 0)).toBe(k);
        row.forEach((v, e) => expect(mask[r][e]).toBe(v >= kth ? 1 : 0));
      });
    }
  });

  it('moeFeedForward equals a per-token loop: top-k experts by router probability, renormalised weights, plus the shared expert', async () => {
    const [h, m, numExperts, k, n] = [8, 6, 5, 2, 12];
    const rng = new Rng(3);
    const { store, names } = moeStore(h, m, numExperts, 1, rng);
    const x = Array.from({ length: n * h }, () => rng.normal());
    const got = tf.tidy(() => moeFeedForward(new TfOps(store), tf.tensor3d(x, [3, 4, h]), names, { topK: k, normTopKProb: true }).output.dataSync() as Float32Array);
    const w = async (name: string) => store.toFloat32(name);
    const expert = async (p: string, xt: number[]) => {
      const gate = matVec(await w(`${p}.gate_proj.weight`), xt, m);
      const up = matVec(await w(`${p}.up_proj.weight`), xt, m);
      return matVec(await w(`${p}.down_proj.weight`), gate.map((g, i) => (g / (1 + Math.exp(-g))) * up[i]), h);
    };
    for (let t = 0; t < n; t++) {
      const xt = x.slice(t * h, (t + 1) * h);
      const logits = matVec(await w('moe.gate.weight'), xt, numExperts);
      const z = logits.map((v) => Math.exp(v - Math.max(...logits)));
      const probs = z.map((v) => v / z.reduce((a, b) => a + b, 0));
      const top = probs.map((p, e) => [p, e]).sort((a, b) => b[0] - a[0]).slice(0, k);
      const norm = top.reduce((s, [p]) => s + p, 0);
      const want = await expert(names.shared[0], xt);
      for (const [p, e] of top) (await expert(names.experts[e], xt)).forEach((v, i) => (want[i] += (p / norm) * v));
      want.forEach((v, i) => expect(got[t * h + i]).toBeCloseTo(v, 5));
    }
    store.dispose();
  });

  it('the balance term and load equal hand-computed values: probs (3/4, 1/4), (1/4, 3/4), (3/4, 1/4), top-1 → f = (2/3, 1/3), P = (7/12, 5/12), 2·Σ f·P = 19/18', () => {
    const { store, names } = moeStore(2, 3, 2, 0, new Rng(1));
    store.get('moe.gate.weight').assign(tf.tensor2d([[1, 0], [0, 1]]));
    const ln3 = Math.log(3);
    const [balance, load] = tf.tidy(() => {
      const out = moeFeedForward(new TfOps(store), tf.tensor2d([[ln3, 0], [0, ln3], [ln3, 0]]), names, { topK: 1, normTopKProb: true });
      return [out.balance.dataSync()[0], Array.from(out.load.dataSync())];
    });
    expect(balance).toBeCloseTo(19 / 18, 6);
    expect(load[0]).toBeCloseTo(2 / 3, 6);
    expect(load[1]).toBeCloseTo(1 / 3, 6);
    store.dispose();
  });
});

describe('CausalLm with MoE FFNs', () => {
  let model: CausalLm;
  const vocab = 40;
  beforeAll(() => {
    model = CausalLm.random({ ...TINY_MOE, vocab_size: vocab, router_aux_loss_coef: 0.1 }, new Rng(7));
  });
  afterAll(() => model.dispose());

  it('loss = LM cross-entropy + coef · Σ over blocks of the balance term; the load of each block sums to 1', () => {
    const ops = new TfOps(model.params);
    const ids = tf.tensor2d([[1, 2, 3, 4, 5], [9, 8, 7, 6, 5]], [2, 5], 'int32');
    const targets = tf.tensor2d([[2, 3, 4, 5, 6], [8, 7, 6, 5, -100]], [2, 5], 'int32');
    tf.tidy(() => {
      const terms = model.lossTerms(ops, ids, targets);
      const { hidden, moe } = model.hiddenWithStats(ops, ids);
      const logits = ops.matMul(tf.reshape(hidden, [-1, 32]), tf.transpose(model.params.get('model.embed_tokens.weight')));
      const lm = ops.crossEntropy(logits, tf.reshape(targets, [10]), -100).dataSync()[0];
      const balance = moe.balance.reduce((s, t) => s + t.dataSync()[0], 0);
      expect(terms.lm.dataSync()[0]).toBeCloseTo(lm, 5);
      expect(terms.aux.dataSync()[0]).toBeCloseTo(0.1 * balance, 6);
      expect(terms.loss.dataSync()[0]).toBeCloseTo(lm + 0.1 * balance, 5);
      const load = terms.expertLoad!.arraySync() as number[][];
      expect(load.length).toBe(2);
      for (const row of load) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    });
    tf.dispose([ids, targets]);
  });

  it('the recorded graph on onnxruntime gives the TfOps logits within 1e-4 (dynamic batch and length)', async () => {
    const graph = recordCausalLm(model, { maxLength: 16 });
    expect(graph.outputs[0].shape).toEqual(['batch', 'seq', vocab]);
    const session = await ort.InferenceSession.create(await causalLmToOnnx(model, { maxLength: 16 }));
    const rng = new Rng(5);
    for (const [batch, length] of [[2, 5], [1, 9]]) {
      const ids = Int32Array.from({ length: batch * length }, () => rng.int(vocab));
      const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [batch, length]) });
      const want = tf.tidy(() => model.forward(new TfOps(model.params), tf.tensor2d(ids, [batch, length], 'int32')).dataSync() as Float32Array);
      const got = out.logits.data as Float32Array;
      expect(got.length).toBe(want.length);
      const diff = Math.max(...Array.from(want, (w, j) => Math.abs(w - got[j])));
      console.log(`moe onnx forward ${batch}x${length}: max |onnx - tfjs| ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-4);
    }
    await session.release();
  });

  it('autodiff on onnxruntime: gradients of LM + aux loss for every parameter equal tfjs (<= 1e-5 of each max)', async () => {
    const [b, len] = [2, 6];
    const ids = Int32Array.from({ length: b * len }, (_, i) => (i * 7) % vocab);
    const targets = Int32Array.from({ length: b * len }, (_, i) => (i % 5 === 4 ? -100 : (i * 11 + 3) % vocab));
    const names = model.params.names();
    const ops = new TfOps(model.params);
    const want = new Map<string, Float32Array>();
    let tfLoss = 0;
    tf.tidy(() => {
      const { value, grads } = model.params.grads(() => model.loss(ops, tf.tensor2d(ids, [b, len], 'int32'), tf.tensor2d(targets, [b, len], 'int32')) as tf.Scalar);
      tfLoss = value.dataSync()[0];
      for (const n of names) want.set(n, grads.get(n)!.dataSync() as Float32Array);
    });
    const g = new GraphOps(model.params);
    g.output(model.loss(g, g.input('input_ids', 'int32', [b, len]), g.input('targets', 'int32', [b, len])), 'loss');
    const { graph, gradients } = appendGradients(parametersAsInputs(g.toGraph(), names), { loss: 'loss', wrt: names });
    const runner = await graphRunner(graph);
    try {
      const out = await runner.run({
        input_ids: { data: ids, dims: [b, len] },
        targets: { data: targets, dims: [b, len] },
        ...Object.fromEntries(await Promise.all(names.map(async (n) => [n, { data: await model.params.toFloat32(n), dims: model.params.shape(n) }] as const))),
      });
      expect(Math.abs(out.loss[0] - tfLoss)).toBeLessThan(1e-5 * tfLoss);
      let worst = 0;
      for (const n of names) {
        const w = want.get(n)!;
        // Each routed expert sees some token (12 tokens, top-2 of 4), so every gradient is non-zero.
        expect(maxAbs(w), `${n}: max |g|`).toBeGreaterThan(1e-5);
        const ratio = maxAbs(out[gradients.get(n)!].map((v, i) => v - w[i])) / maxAbs(w);
        worst = Math.max(worst, ratio);
        expect(ratio, n).toBeLessThan(1e-5);
      }
      console.log(`moe autodiff: ${names.length} parameters, loss ${tfLoss.toFixed(5)}, worst ${worst.toExponential(2)}`);
    } finally {
      await runner.release();
    }
  });

  it('a few Adam steps lower the loss (LM + aux) on a repeating sequence', () => {
    const trained = CausalLm.random({ ...TINY_MOE, vocab_size: vocab }, new Rng(2));
    const ops = new TfOps(trained.params);
    const seq = Array.from({ length: 18 }, (_, i) => (i * 7) % vocab);
    const inputs = tf.tensor2d([seq.slice(0, 16), seq.slice(1, 17)], [2, 16], 'int32');
    const targets = tf.tensor2d([seq.slice(1, 17), seq.slice(2, 18)], [2, 16], 'int32');
    const optimizer = tf.train.adam(0.01);
    const losses: number[] = [];
    for (let step = 0; step < 20; step++) {
      const { value, grads } = trained.params.grads(() => trained.loss(ops, inputs, targets) as tf.Scalar);
      losses.push(value.dataSync()[0]);
      optimizer.applyGradients([...grads].map(([name, tensor]) => ({ name: trained.params.get(name).name, tensor })));
      tf.dispose([value, ...grads.values()]);
    }
    console.log(`moe training: loss ${losses[0].toFixed(3)} -> ${losses[losses.length - 1].toFixed(3)} in 20 Adam steps`);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.6);
    optimizer.dispose();
    tf.dispose([inputs, targets]);
    trained.dispose();
  });
});
