import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { ParameterStore } from './parameter-store';
import { TfOps } from './tf-ops';

let ops: TfOps;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  ops = new TfOps(new ParameterStore());
});

describe('TfOps', () => {
  it('crossEntropy is the mean NLL over targets that are not ignoreIndex, with gradients softmax - onehot', () => {
    const logits = [[1, 2, 3], [0, 0, 0], [5, -1, 2]];
    const targets = [2, -100, 0];
    const nll = (row: number[], t: number) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[t];
    const want = (nll(logits[0], 2) + nll(logits[2], 0)) / 2;
    const x = tf.tensor2d(logits);
    const t = tf.tensor1d(targets, 'int32');
    expect(tf.tidy(() => ops.crossEntropy(x, t).dataSync()[0])).toBeCloseTo(want, 5);
    const g = tf.tidy(() => tf.grad((l: tf.Tensor) => ops.crossEntropy(l, t))(x).arraySync() as number[][]);
    g[1].forEach((v) => expect(Math.abs(v)).toBe(0)); // ignored row gets no gradient
    const p = logits[2].map((v) => Math.exp(v) / logits[2].reduce((s, u) => s + Math.exp(u), 0));
    g[2].forEach((v, j) => expect(v).toBeCloseTo((p[j] - (j === 0 ? 1 : 0)) / 2, 5));
    expect(tf.tidy(() => ops.crossEntropy(x, tf.tensor1d([-100, -100, -100], 'int32')).dataSync()[0])).toBeCloseTo(0, 10);
    tf.dispose([x, t]);
  });

  it('dropout zeroes about `rate` of the entries, scales the rest by 1/(1-rate), and is seeded', () => {
    const x = tf.ones([100, 100]);
    const a = tf.tidy(() => ops.dropout(x, 0.3, new Rng(9)).dataSync().slice());
    const b = tf.tidy(() => ops.dropout(x, 0.3, new Rng(9)).dataSync().slice());
    expect(Array.from(a)).toEqual(Array.from(b));
    const zeros = a.filter((v) => v === 0).length / a.length;
    expect(zeros).toBeGreaterThan(0.27);
    expect(zeros).toBeLessThan(0.33);
    expect(a.every((v) => v === 0 || Math.abs(v - 1 / 0.7) < 1e-6)).toBe(true);
    expect(ops.dropout(x, 0, new Rng(1))).toBe(x);
    expect(() => ops.dropout(x, 1, new Rng(1))).toThrow('TfOps.dropout: rate must be in [0, 1), got 1');
    x.dispose();
  });

  it('gelu is the exact erf form', () => {
    const xs = [-3, -1, -0.5, 0, 0.5, 1, 3];
    // erf via the identity gelu(x) = x * Phi(x); Phi values from the normal CDF.
    const phi = [0.0013499, 0.1586553, 0.3085375, 0.5, 0.6914625, 0.8413447, 0.9986501];
    const got = tf.tidy(() => ops.gelu(tf.tensor1d(xs)).dataSync());
    xs.forEach((x, i) => expect(got[i]).toBeCloseTo(x * phi[i], 5));
  });

  it('where broadcasts its three inputs; errors name the op and the values', () => {
    const out = tf.tidy(() => ops.where(tf.tensor1d([true, false], 'bool'), tf.tensor2d([[1, 2], [3, 4]]), ops.scalar(-1)).arraySync());
    expect(out).toEqual([[1, -1], [3, -1]]);
    expect(() => ops.where(tf.tensor1d([1, 0]), ops.scalar(1), ops.scalar(2))).toThrow('TfOps.where: condition must be bool, got float32');
    expect(() => ops.matMul(tf.zeros([2, 3]), tf.zeros([4, 5]))).toThrow('TfOps.matMul: inner dims differ: a [2,3], b [4,5]');
    expect(() => ops.gather(tf.zeros([2, 3]), tf.tensor1d([0]))).toThrow('TfOps.gather: indices must be int32, got float32');
    expect(() => ops.reshape(tf.zeros([2, 3]), ['batch', 3])).toThrow("TfOps.reshape: dim 0 is symbolic ('batch')");
    expect(() => ops.sum(tf.zeros([2, 3]), [2])).toThrow('TfOps.sum: axis 2 out of range for rank 2');
    expect(() => ops.constant([1, 2, 3], [2, 2])).toThrow('TfOps.constant: 3 values do not fill shape [2,2] (4)');
  });

  it('ParameterStore.get names a missing parameter', () => {
    expect(() => ops.param('nope.weight')).toThrow("ParameterStore.get: no parameter named 'nope.weight'");
  });
});
