import type { Rng } from '@proj/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';

/** `${prefix}.weight` [num, dim] ~ normal(0, std), with the padding row zeroed as HF does. */
export function initEmbedding(store: ParameterStore, prefix: string, num: number, dim: number, std: number, rng: Rng, paddingIdx?: number): void {
  const values = new Float32Array(num * dim);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
  if (paddingIdx !== undefined && paddingIdx >= 0 && paddingIdx < num) values.fill(0, paddingIdx * dim, (paddingIdx + 1) * dim);
  store.set(`${prefix}.weight`, tf.tensor(values, [num, dim]));
}

/** Rows of `${prefix}.weight` at integer ids: ids.shape ++ [dim]. */
export function embedding<T>(ops: Ops<T>, ids: T, prefix: string): T {
  return ops.gather(ops.param(`${prefix}.weight`), ids);
}
