import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { CAUSAL_LM_PRESETS, parseCausalLmConfig } from './config';
import { CausalLm, causalLmParameterShapes } from './model';
import { causalLmToOnnx, recordCausalLm } from './onnx';

const count = (shapes: Map<string, number[]>) => [...shapes.values()].reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('CausalLm config and size', () => {
  it("the default is minimind's dense model: 25,829,888 parameters (25.8M)", () => {
    const config = parseCausalLmConfig({});
    expect(config.intermediate_size).toBe(1408);
    // embedding 6400·512 + 8 × (q 512² + k, v 128·512 + o 512² + SwiGLU 3·512·1408 + 2 norms 512) + final norm
    const perLayer = 2 * 512 * 512 + 2 * 128 * 512 + 3 * 512 * 1408 + 2 * 512;
    expect(count(causalLmParameterShapes(config))).toBe(6400 * 512 + 8 * perLayer + 512);
    expect(count(causalLmParameterShapes(config))).toBe(25_829_888);
    const untied = parseCausalLmConfig({ tie_word_embeddings: false });
    expect(count(causalLmParameterShapes(untied))).toBe(25_829_888 + 6400 * 512);
  });

  it('has a small CPU preset and refuses inconsistent sizes, naming the field', () => {
    const small = parseCausalLmConfig(CAUSAL_LM_PRESETS['cpu-small']);
    expect(small.intermediate_size).toBe(384);
    expect(count(causalLmParameterShapes(small))).toBe(6400 * 128 + 4 * (2 * 128 * 128 + 2 * 64 * 128 + 3 * 128 * 384 + 2 * 128) + 128);
    expect(() => parseCausalLmConfig({ hidden_size: 30, num_attention_heads: 4 })).toThrow('hidden_size must be divisible by num_attention_heads (4), got 30');
    expect(() => parseCausalLmConfig({ num_key_value_heads: 3 })).toThrow('num_attention_heads (8) must be divisible by num_key_value_heads, got 3');
    expect(() => parseCausalLmConfig({ hidden_sise: 3 })).toThrow('known fields');
  });
});

describe('CausalLm on tfjs', () => {
  const vocab = 40;
  let model: CausalLm;
  let ops: TfOps;
  beforeAll(() => {
    model = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: vocab }, new Rng(1));
    ops = new TfOps(model.params);
  });
  afterAll(() => model.dispose());

  it('allocates the parameters the shapes list, with grouped key/value projections', () => {
    expect(model.parameterCount()).toBe(count(causalLmParameterShapes(model.config)));
    expect(model.params.shape('model.layers.0.self_attn.k_proj.weight')).toEqual([16, 32]);
    expect(model.params.has('lm_head.weight')).toBe(false);
  });

  it('is causal: changing token t changes no logits before t', () => {
    const ids = [[3, 7, 1, 9, 4, 4, 2]];
    const changed = [[3, 7, 1, 30, 4, 4, 2]];
    const [a, b] = [ids, changed].map((x) => tf.tidy(() => model.forward(ops, tf.tensor2d(x, [1, 7], 'int32')).arraySync() as number[][][]));
    expect(a[0].length).toBe(7);
    expect(a[0][0].length).toBe(vocab);
    for (let t = 0; t < 3; t++) a[0][t].forEach((v, j) => expect(b[0][t][j]).toBeCloseTo(v, 6));
    expect(Math.max(...a[0][3].map((v, j) => Math.abs(v - b[0][3][j])))).toBeGreaterThan(1e-4);
  });

  it('forwardWithCache: a sequence fed in chunks (3, then 2, then 1 tokens) gives the full forward logits', () => {
    const ids = [[3, 7, 1, 9, 4, 12], [5, 5, 2, 8, 30, 1]];
    const tensors = (from: number, to: number) => tf.tensor2d(ids.map((r) => r.slice(from, to)), [2, to - from], 'int32');
    const full = tf.tidy(() => model.forward(ops, tensors(0, 6)).arraySync() as number[][][]);
    const chunks = tf.tidy(() => {
      const a = model.forwardWithCache(ops, tensors(0, 3));
      const b = model.forwardWithCache(ops, tensors(3, 5), a.present);
      const c = model.forwardWithCache(ops, tensors(5, 6), b.present);
      expect(c.present[0].key.shape).toEqual([2, 2, 6, 8]); // [B, KV heads, cached length, head size]
      return tf.concat([a.logits, b.logits, c.logits], 1).arraySync() as number[][][];
    });
    full.flat(2).forEach((v, k) => expect(chunks.flat(2)[k]).toBeCloseTo(v, 5));
  });

  it('loss equals the one-hot cross-entropy of its logits, skipping ignored targets', () => {
    const inputs = tf.tensor2d([[1, 2, 3, 4], [5, 6, 7, 8]], [2, 4], 'int32');
    const targets = tf.tensor2d([[2, 3, 4, -100], [6, 7, 8, 9]], [2, 4], 'int32');
    const [gathered, oneHot] = tf.tidy(() => [
      model.loss(ops, inputs, targets).dataSync()[0],
      ops.crossEntropy(tf.reshape(model.forward(ops, inputs), [8, vocab]), tf.reshape(targets, [8]), -100).dataSync()[0],
    ]);
    expect(gathered).toBeCloseTo(oneHot, 5);
    expect(gathered).toBeGreaterThan(Math.log(vocab) - 1);
    tf.dispose([inputs, targets]);
  });

  it('a few Adam steps lower the loss on a repeating sequence', () => {
    const seq = Array.from({ length: 18 }, (_, i) => (i * 7) % vocab);
    const inputs = tf.tensor2d([seq.slice(0, 16), seq.slice(1, 17)], [2, 16], 'int32');
    const targets = tf.tensor2d([seq.slice(1, 17), seq.slice(2, 18)], [2, 16], 'int32');
    const optimizer = tf.train.adam(0.01);
    const losses: number[] = [];
    for (let step = 0; step < 25; step++) {
      const { value, grads } = model.params.grads(() => model.loss(ops, inputs, targets) as tf.Scalar);
      losses.push(value.dataSync()[0]);
      optimizer.applyGradients([...grads].map(([name, tensor]) => ({ name: model.params.get(name).name, tensor })));
      tf.dispose([value, ...grads.values()]);
    }
    expect(losses[0]).toBeGreaterThan(3);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] * 0.5);
    optimizer.dispose();
    tf.dispose([inputs, targets]);
  });
});

describe('CausalLm recorded by GraphOps', () => {
  it('exports to ONNX with dynamic batch and length; onnxruntime equals the TfOps logits within 1e-4', async () => {
    const model = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: 50 }, new Rng(4));
    const graph = recordCausalLm(model, { maxLength: 16 });
    expect(graph.inputs.map((i) => [i.name, i.shape])).toEqual([['input_ids', ['batch', 'seq']]]);
    expect(graph.outputs[0].shape).toEqual(['batch', 'seq', 50]);
    const session = await ort.InferenceSession.create(await causalLmToOnnx(model, { maxLength: 16 }));
    const rng = new Rng(5);
    for (const [batch, length] of [[2, 5], [1, 9]]) {
      const ids = Int32Array.from({ length: batch * length }, () => rng.int(50));
      const out = await session.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [batch, length]) });
      const want = tf.tidy(() => model.forward(new TfOps(model.params), tf.tensor2d(ids, [batch, length], 'int32')).dataSync() as Float32Array);
      const got = out.logits.data as Float32Array;
      expect(got.length).toBe(want.length);
      expect(Math.max(...Array.from(want, (w, k) => Math.abs(w - got[k])))).toBeLessThan(1e-4);
    }
    await session.release();
    model.dispose();
  });
});
