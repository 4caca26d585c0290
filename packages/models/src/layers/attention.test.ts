import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { ParameterStore } from '../ops/parameter-store';
import { TfOps } from '../ops/tf-ops';
import { causalMaskBias, initAttention, multiHeadAttention, paddingMaskBias, prefixed, BERT_ATTENTION_NAMES } from './attention';
import { initBlock, postLnBlock, preLnBlock } from './transformer-block';
import { ropeAngles } from './rope';

const H = 8;
const HEADS = 2;
const names = prefixed('l.', BERT_ATTENTION_NAMES);
let store: ParameterStore;
let ops: TfOps;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  store = new ParameterStore();
  initAttention(store, names, H, 0.5, new Rng(3));
  initBlock(store, 'b.', { hidden: H, intermediate: 16, numHeads: HEADS, eps: 1e-12 }, 0.5, new Rng(4));
  ops = new TfOps(store);
});
afterAll(() => store.dispose());

/** Plain-JS multi-head attention for one sequence x [L, H], with an additive bias [L, L]. */
async function naiveAttention(x: number[][], bias: number[][]): Promise<number[][]> {
  const W = async (n: string) => tf.tensor(await store.toFloat32(`${n}.weight`), [H, H]).arraySync() as number[][];
  const B = async (n: string) => Array.from(await store.toFloat32(`${n}.bias`));
  const proj = async (n: string, inp: number[][]) => {
    const [w, b] = [await W(n), await B(n)];
    return inp.map((row) => w.map((wo, o) => wo.reduce((s, wi, i) => s + wi * row[i], b[o])));
  };
  const [q, k, v] = [await proj(names.query, x), await proj(names.key, x), await proj(names.value, x)];
  const d = H / HEADS;
  const ctx = x.map(() => new Array(H).fill(0));
  for (let h = 0; h < HEADS; h++) {
    for (let i = 0; i < x.length; i++) {
      const s = x.map((_, j) => [...Array(d).keys()].reduce((acc, t) => acc + q[i][h * d + t] * k[j][h * d + t], 0) / Math.sqrt(d) + bias[i][j]);
      const m = Math.max(...s);
      const e = s.map((z) => Math.exp(z - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j < x.length; j++) for (let t = 0; t < d; t++) ctx[i][h * d + t] += (e[j] / z) * v[j][h * d + t];
    }
  }
  return proj(names.output, ctx);
}

describe('multiHeadAttention', () => {
  const rng = new Rng(5);
  const x = [0, 1].map(() => [...Array(4)].map(() => [...Array(H)].map(() => rng.normal())));

  it('matches a plain-JS reference with a padding mask', async () => {
    const mask = [[1, 1, 1, 0], [1, 1, 0, 0]];
    const got = tf.tidy(() => multiHeadAttention(ops, tf.tensor3d(x), names, { numHeads: HEADS, bias: paddingMaskBias(ops, tf.tensor2d(mask, [2, 4], 'int32')) }).arraySync()) as number[][][];
    for (let b = 0; b < 2; b++) {
      const want = await naiveAttention(x[b], x[b].map(() => mask[b].map((m) => (m ? 0 : -1e9))));
      got[b].forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i][j], 4)));
    }
  });

  it('padding: changing a masked key leaves every output unchanged', () => {
    const mask = tf.tensor2d([[1, 1, 0, 0], [1, 1, 1, 1]], [2, 4], 'int32');
    const run = (xs: number[][][]) => tf.tidy(() => multiHeadAttention(ops, tf.tensor3d(xs), names, { numHeads: HEADS, bias: paddingMaskBias(ops, mask) }).arraySync()) as number[][][];
    const changed = x.map((s) => s.map((r) => [...r]));
    changed[0][3] = changed[0][3].map((v) => v + 10);
    const [a, b] = [run(x), run(changed)];
    for (const i of [0, 1, 2]) a[0][i].forEach((v, j) => expect(b[0][i][j]).toBeCloseTo(v, 5));
  });

  it('causal: output i does not depend on tokens after i', async () => {
    const bias = (len: number) => causalMaskBias(ops, len, 16);
    const full = tf.tidy(() => multiHeadAttention(ops, tf.tensor3d(x), names, { numHeads: HEADS, bias: bias(4) }).arraySync()) as number[][][];
    const prefix = tf.tidy(() => multiHeadAttention(ops, tf.tensor3d(x.map((s) => s.slice(0, 2))), names, { numHeads: HEADS, bias: bias(2) }).arraySync()) as number[][][];
    for (let i = 0; i < 2; i++) prefix[0][i].forEach((v, j) => expect(full[0][i][j]).toBeCloseTo(v, 5));
    const want = await naiveAttention(x[1], [0, 1, 2, 3].map((i) => [0, 1, 2, 3].map((j) => (j > i ? -1e9 : 0))));
    full[1].forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(want[i][j], 4)));
  });

  it('rejects a hidden size not divisible by the heads', () => {
    expect(() => multiHeadAttention(ops, tf.zeros([1, 2, H]), names, { numHeads: 3 })).toThrow(/hidden size 8 is not divisible by numHeads 3/);
  });
});

describe('cross-attention (keyValue)', () => {
  const KV = 6;
  const cross = prefixed('x.', BERT_ATTENTION_NAMES);
  beforeAll(() => initAttention(store, cross, H, 0.5, new Rng(7), KV));
  const rng = new Rng(8);
  const x = [0, 1].map(() => [...Array(3)].map(() => [...Array(H)].map(() => rng.normal())));
  const memory = [0, 1].map(() => [...Array(4)].map(() => [...Array(KV)].map(() => rng.normal())));
  const run = (mem: number[][][], mask?: number[][]) =>
    tf.tidy(() => {
      const bias = mask ? paddingMaskBias(ops, tf.tensor2d(mask, undefined, 'int32')) : undefined;
      return multiHeadAttention(ops, tf.tensor3d(x), cross, { numHeads: HEADS, keyValue: tf.tensor3d(mem), bias }).arraySync() as number[][][];
    });

  it('queries of width H attend to keys of another width and length; masked memory slots are ignored', () => {
    const mask = [[1, 1, 0, 0], [1, 1, 1, 1]];
    const a = run(memory, mask);
    expect([a.length, a[0].length, a[0][0].length]).toEqual([2, 3, H]);
    const changed = memory.map((m) => m.map((r) => [...r]));
    changed[0][3] = changed[0][3].map((v) => v - 7);
    const b = run(changed, mask);
    a.forEach((s, i) => s.forEach((row, j) => row.forEach((v, k) => expect(b[i][j][k]).toBeCloseTo(v, 5))));
  });

  it('one memory slot: every query gets W_o (W_v m + b_v) + b_o', async () => {
    const one = memory.map((m) => [m[0]]);
    const got = run(one);
    const w = async (n: string, rows: number, cols: number) => tf.tensor(await store.toFloat32(`${n}.weight`), [rows, cols]).arraySync() as number[][];
    const bias = async (n: string) => Array.from(await store.toFloat32(`${n}.bias`));
    const [wv, bv, wo, bo] = [await w(cross.value, H, KV), await bias(cross.value), await w(cross.output, H, H), await bias(cross.output)];
    for (let b = 0; b < 2; b++) {
      const v = wv.map((row, o) => row.reduce((s, wi, i) => s + wi * one[b][0][i], bv[o]));
      const want = wo.map((row, o) => row.reduce((s, wi, i) => s + wi * v[i], bo[o]));
      for (const q of got[b]) q.forEach((val, k) => expect(val).toBeCloseTo(want[k], 4));
    }
  });
});

describe('transformer blocks', () => {
  const cfg = { hidden: H, intermediate: 16, numHeads: HEADS, eps: 1e-12 };
  it('pre-LN and post-LN differ, keep the shape, and pass gradients to every block parameter', () => {
    const x = tf.randomNormal([2, 3, H], 0, 1, 'float32', 6);
    const post = tf.tidy(() => postLnBlock(ops, x, 'b.', cfg));
    const pre = tf.tidy(() => preLnBlock(ops, x, 'b.', cfg));
    expect(post.shape).toEqual([2, 3, H]);
    expect(pre.shape).toEqual([2, 3, H]);
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(post, pre))).dataSync()[0])).toBeGreaterThan(1e-3);
    // Post-LN output is normalized per token (LayerNorm last); pre-LN's is not.
    const rowMean = tf.tidy(() => tf.max(tf.abs(tf.mean(tf.div(tf.sub(post, store.get('b.output.LayerNorm.bias')), store.get('b.output.LayerNorm.weight')), -1))).dataSync()[0]);
    expect(rowMean).toBeLessThan(1e-4);
    const { value, grads } = store.grads(() => tf.tidy(() => tf.sum(tf.square(preLnBlock(ops, x, 'b.', cfg))) as tf.Scalar));
    const blockParams = store.names().filter((n) => n.startsWith('b.'));
    expect(blockParams.length).toBe(16);
    for (const n of blockParams) expect(tf.tidy(() => tf.sum(tf.abs(grads.get(n)!)).dataSync()[0])).toBeGreaterThan(0);
    tf.dispose([x, post, pre, value, ...grads.values()]);
  });
});

describe('grouped-query attention', () => {
  it('equals multi-head attention whose key/value heads are repeated (repeat_kv), with RoPE, a causal mask and no biases', async () => {
    const [hidden, heads, kvHeads, d, L] = [8, 4, 2, 2, 5];
    const gqaNames = prefixed('g.', BERT_ATTENTION_NAMES);
    const gqa = new ParameterStore();
    const rng = new Rng(21);
    for (const [name, rows] of [[gqaNames.query, hidden], [gqaNames.key, kvHeads * d], [gqaNames.value, kvHeads * d], [gqaNames.output, hidden]] as const) {
      gqa.set(`${name}.weight`, tf.tensor2d([...Array(rows * hidden)].map(() => rng.normal() * 0.5), [rows, hidden]));
    }
    // The same weights as plain multi-head attention: query head j reads key/value head floor(j / 2).
    const mha = new ParameterStore();
    for (const name of [gqaNames.query, gqaNames.output]) mha.set(`${name}.weight`, tf.tensor2d(await gqa.toFloat32(`${name}.weight`), [hidden, hidden]));
    for (const name of [gqaNames.key, gqaNames.value]) {
      const w = await gqa.toFloat32(`${name}.weight`);
      const repeated = [...Array(heads).keys()].flatMap((j) => Array.from(w.subarray(Math.floor(j / (heads / kvHeads)) * d * hidden, (Math.floor(j / (heads / kvHeads)) + 1) * d * hidden)));
      mha.set(`${name}.weight`, tf.tensor2d(repeated, [hidden, hidden]));
    }
    const x = tf.randomNormal([2, L, hidden], 0, 1, 'float32', 9);
    const run = (s: ParameterStore, numKvHeads: number) =>
      tf.tidy(() => {
        const o = new TfOps(s);
        const rope = ropeAngles(o, L, d, { maxPositions: 16 });
        return multiHeadAttention(o, x, gqaNames, { numHeads: heads, numKvHeads, projectionBias: false, rope, bias: causalMaskBias(o, L, L) }).arraySync() as number[][][];
      });
    const got = run(gqa, kvHeads);
    const want = run(mha, heads);
    got.flat(2).forEach((v, i) => expect(v).toBeCloseTo(want.flat(2)[i], 5));
    expect(() => tf.tidy(() => multiHeadAttention(new TfOps(gqa), x, gqaNames, { numHeads: heads, numKvHeads: 3, projectionBias: false }))).toThrow(
      'numHeads 4 is not divisible by numKvHeads 3',
    );
    tf.dispose(x);
    gqa.dispose();
    mha.dispose();
  });
});
