import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../test/mlp-task';
import { clipByGlobalNorm } from './clip-grad-norm';
import { GradAccumulator } from './grad-accumulator';

beforeAll(useCpuBackend);

const grads = () => new Map<string, tf.Tensor>([['a', tf.tensor1d([3, 4])], ['b', tf.tensor2d([[12]])]]); // global norm 13

describe('clipByGlobalNorm', () => {
  it.each([
    // maxNorm, expected scale (torch: maxNorm / (norm + 1e-6), capped at 1)
    [6.5, 6.5 / (13 + 1e-6)],
    [1, 1 / (13 + 1e-6)],
    [13, 13 / (13 + 1e-6)], // just below 1: the 1e-6 in the denominator, as in torch
    [100, 1],
    [0, 1], // 0 = measure only
  ])('maxNorm %f scales by %f and reports the norm before clipping', (maxNorm, scale) => {
    const g = grads();
    const out = clipByGlobalNorm(g, maxNorm);
    expect(out.norm).toBeCloseTo(13, 5);
    const coef = scale;
    const a = out.grads.get('a')!.dataSync();
    expect(a[0]).toBeCloseTo(3 * coef, 6);
    expect(a[1]).toBeCloseTo(4 * coef, 6);
    expect(out.grads.get('b')!.dataSync()[0]).toBeCloseTo(12 * coef, 5);
    expect(out.grads.get('b')!.shape).toEqual([1, 1]);
    tf.dispose([...g.values(), ...out.grads.values()]);
  });

  it('after clipping the global norm is maxNorm', () => {
    const g = grads();
    const out = clipByGlobalNorm(g, 2);
    expect(clipByGlobalNorm(out.grads, 0).norm).toBeCloseTo(2, 5);
    tf.dispose([...g.values(), ...out.grads.values()]);
  });

  it('returns fresh tensors the caller can free independently, and rejects a negative maxNorm', () => {
    const g = grads();
    const out = clipByGlobalNorm(g, 100);
    tf.dispose([...g.values()]);
    expect(Array.from(out.grads.get('a')!.dataSync())).toEqual([3, 4]);
    tf.dispose([...out.grads.values()]);
    expect(() => clipByGlobalNorm(new Map(), -1)).toThrow(/clipByGlobalNorm: maxNorm must be >= 0, got -1/);
  });
});

describe('GradAccumulator', () => {
  it('sums micro-batch gradients, including names that appear in only some micro-batches', () => {
    const acc = new GradAccumulator();
    const before = tf.memory().numTensors;
    const g1 = new Map([['w', tf.tensor1d([1, 2])]]);
    const g2 = new Map([['w', tf.tensor1d([10, 20])], ['b', tf.tensor1d([5])]]);
    acc.add(g1);
    acc.add(g2);
    tf.dispose([...g1.values(), ...g2.values()]);
    expect(acc.microBatches).toBe(2);
    const sums = acc.take();
    expect(acc.microBatches).toBe(0);
    expect(Array.from(sums.get('w')!.dataSync())).toEqual([11, 22]);
    expect(Array.from(sums.get('b')!.dataSync())).toEqual([5]);
    tf.dispose([...sums.values()]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('survives an enclosing tidy and frees everything on dispose()', () => {
    const acc = new GradAccumulator();
    const before = tf.memory().numTensors;
    tf.tidy(() => acc.add(new Map([['w', tf.ones([3])]])));
    expect(tf.memory().numTensors).toBe(before + 1);
    acc.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
