import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { ParameterStore } from '../ops/parameter-store';
import { TfOps } from '../ops/tf-ops';
import { biLstm, initBiLstm } from './lstm';

// PyTorch nn.LSTM(6, 5, bidirectional=True, batch_first=True), made by tools/reference/bert_fixture.py.
const ref = JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/tiny-bert/layers-reference.json'), 'utf8')).lstm as {
  params: Record<string, { shape: number[]; values: number[] }>;
  x: { shape: number[]; values: number[] };
  y: { shape: number[]; values: number[] };
};

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('biLstm', () => {
  it('matches PyTorch nn.LSTM(bidirectional=True) with its own weights', () => {
    const store = new ParameterStore();
    for (const [name, p] of Object.entries(ref.params)) store.set(`enc.${name}`, tf.tensor(p.values, p.shape));
    const y = tf.tidy(() => biLstm(new TfOps(store), tf.tensor(ref.x.values, ref.x.shape), 'enc'));
    expect(y.shape).toEqual(ref.y.shape);
    const got = y.dataSync();
    const maxDiff = Math.max(...ref.y.values.map((v, i) => Math.abs(v - got[i])));
    expect(maxDiff).toBeLessThan(1e-5);
    tf.dispose(y);
    store.dispose();
  });

  it('initializes PyTorch names and shapes, uniform within 1/sqrt(H)', () => {
    const store = new ParameterStore();
    initBiLstm(store, 'enc', 6, 5, new Rng(1));
    expect(store.names().sort()).toEqual(Object.keys(ref.params).map((n) => `enc.${n}`).sort());
    for (const n of store.names()) {
      expect(store.shape(n)).toEqual(ref.params[n.slice(4)].shape);
      expect(tf.tidy(() => tf.max(tf.abs(store.get(n))).dataSync()[0])).toBeLessThanOrEqual(1 / Math.sqrt(5));
    }
    store.dispose();
  });
});

describe('biLstm training', () => {
  it('differentiates when run twice in one step (regression: Add returned one dy tensor for both inputs, which tfjs freed twice)', () => {
    const store = new ParameterStore();
    initBiLstm(store, 'enc', 6, 5, new Rng(2));
    const ops = new TfOps(store);
    const x = tf.tensor(ref.x.values, ref.x.shape);
    const { value, grads } = store.grads(() => tf.tidy(() => tf.add(tf.sum(biLstm(ops, x, 'enc')), tf.sum(tf.square(biLstm(ops, x, 'enc')))) as tf.Scalar));
    expect(grads.size).toBe(8);
    // bias_ih and bias_hh enter only through their sum, so their gradients are equal and non-zero.
    const gi = grads.get('enc.bias_ih_l0')!.dataSync();
    const gh = grads.get('enc.bias_hh_l0')!.dataSync();
    expect(Array.from(gi)).toEqual(Array.from(gh));
    expect(Math.max(...gi.map(Math.abs))).toBeGreaterThan(1e-4);
    tf.dispose([x, value, ...grads.values()]);
    store.dispose();
  });
});
