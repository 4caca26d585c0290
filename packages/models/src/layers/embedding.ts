import type { Rng } from '@proj/core';
import * as tf from '@tensorflow/tfjs-core';
import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { initNormal } from './init';

/** `${prefix}.weight` [num, dim] ~ normal(0, std), with the padding row zeroed as HF does. */
export function initEmbedding(store: ParameterStore, prefix: string, num: number, dim: number, std: number, rng: Rng, paddingIdx?: number): void {
  initNormal(store, `${prefix}.weight`, [num, dim], std, rng);
  if (paddingIdx !== undefined && paddingIdx >= 0 && paddingIdx < num) {
    const name = `${prefix}.weight`;
    const w = store.get(name);
    const row = tf.tidy(() => tf.concat([tf.ones([paddingIdx, dim]), tf.zeros([1, dim]), tf.ones([num - paddingIdx - 1, dim])], 0));
    store.set(name, tf.mul(w, row));
    row.dispose();
  }
}

/** Rows of `${prefix}.weight` at integer ids: ids.shape ++ [dim]. */
export function embedding<T>(ops: Ops<T>, ids: T, prefix: string): T {
  return ops.gather(ops.param(`${prefix}.weight`), ids);
}
