import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { ensureGradients } from './ensure-gradients';

describe('ensureGradients', () => {
  it("registers tfjs-core's gradients but keeps one a model package registered first", async () => {
    await tf.setBackend('cpu');
    // A model package's own Tanh gradient (deliberately wrong: 7 · dy), registered before training.
    const custom: tf.GradConfig = { kernelName: tf.Tanh, gradFunc: (dy) => ({ x: () => tf.mul(dy as tf.Tensor, 7) }) };
    tf.registerGradient(custom);
    await ensureGradients();
    expect(tf.getGradient(tf.Tanh)).toBe(custom);
    expect(tf.getGradient(tf.Sigmoid)).toBeDefined();
    const x = tf.tensor1d([0.5, -1]);
    expect(Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.tanh(t)))(x).dataSync())).toEqual([7, 7]);
    // MatMul's gradient is tfjs-core's.
    const a = tf.tensor2d([[1, 2]]);
    const b = tf.tensor2d([[3], [4]]);
    expect(Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.matMul(t as tf.Tensor2D, b)))(a).dataSync())).toEqual([3, 4]);
    await ensureGradients(); // idempotent
    expect(tf.getGradient(tf.Tanh)).toBe(custom);
  });
});
