import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { ParameterStore } from '../ops/parameter-store';
import { TfOps } from '../ops/tf-ops';
import { embedding, initEmbedding } from './embedding';
import { initLayerNorm, layerNorm } from './layer-norm';
import { initLinear, linear } from './linear';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('linear / embedding / layerNorm', () => {
  it('linear computes x W^T + b with W stored [out, in], for 2-D and 3-D inputs', async () => {
    const store = new ParameterStore();
    initLinear(store, 'fc', 3, 2, 1, new Rng(1));
    store.set('fc.bias', tf.tensor1d([0.5, -1]));
    const ops = new TfOps(store);
    const w = (await store.toFloat32('fc.weight')) as Float32Array; // [2, 3]
    const x = [1, 2, 3, -1, 0, 4];
    const want: number[] = [];
    for (let r = 0; r < 2; r++) for (let o = 0; o < 2; o++) want.push([0, 1, 2].reduce((s, i) => s + x[r * 3 + i] * w[o * 3 + i], 0) + [0.5, -1][o]);
    const y2 = tf.tidy(() => linear(ops, tf.tensor2d(x, [2, 3]), 'fc').dataSync());
    const y3 = tf.tidy(() => linear(ops, tf.tensor3d(x, [1, 2, 3]), 'fc'));
    expect(y3.shape).toEqual([1, 2, 2]);
    y2.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    y3.dataSync().forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
    expect(() => linear(ops, tf.zeros([2, 4]), 'fc')).toThrow(/linear\(fc\): input last dim 4 != weight in_features 3/);
    store.dispose();
  });

  it('embedding zeroes the padding row and gathers rows for [B, L] ids', () => {
    const store = new ParameterStore();
    initEmbedding(store, 'emb', 5, 4, 0.5, new Rng(2), 1);
    const table = store.get('emb.weight').arraySync() as number[][];
    expect(table[1]).toEqual([0, 0, 0, 0]);
    expect(table[0].some((v) => v !== 0)).toBe(true);
    const out = tf.tidy(() => embedding(new TfOps(store), tf.tensor2d([[4, 0], [1, 4]], [2, 2], 'int32'), 'emb').arraySync() as number[][][]);
    expect(out[0][0]).toEqual(table[4]);
    expect(out[1][0]).toEqual(table[1]);
    store.dispose();
  });

  it('layerNorm normalizes the last axis then scales and shifts', () => {
    const store = new ParameterStore();
    initLayerNorm(store, 'ln', 4);
    store.set('ln.weight', tf.tensor1d([1, 2, 1, 1]));
    const x = [1, 2, 3, 6];
    const mu = 3;
    const sd = Math.sqrt(((1 - mu) ** 2 + (2 - mu) ** 2 + 0 + (6 - mu) ** 2) / 4 + 1e-5);
    const y = tf.tidy(() => layerNorm(new TfOps(store), tf.tensor2d(x, [1, 4]), 'ln', 1e-5).dataSync());
    y.forEach((v, i) => expect(v).toBeCloseTo(((x[i] - mu) / sd) * [1, 2, 1, 1][i], 5));
    store.dispose();
  });
});
