import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@proj/core';
import type { ParameterStore } from '../ops/parameter-store';

/** Adds a parameter drawn from normal(0, std) (HF's `_init_weights` for Linear and Embedding). */
export function initNormal(store: ParameterStore, name: string, shape: number[], std: number, rng: Rng): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = rng.normal() * std;
  store.set(name, tf.tensor(values, shape));
}

/** Adds a parameter drawn from uniform(-bound, bound) (PyTorch's LSTM default). */
export function initUniform(store: ParameterStore, name: string, shape: number[], bound: number, rng: Rng): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (2 * rng.float() - 1) * bound;
  store.set(name, tf.tensor(values, shape));
}

export function initConstant(store: ParameterStore, name: string, shape: number[], value: number): void {
  store.set(name, tf.fill(shape, value, 'float32'));
}
