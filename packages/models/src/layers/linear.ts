import type { Rng } from '@proj/core';
import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { initConstant, initNormal } from './init';

/** `${prefix}.weight` [out, in] ~ normal(0, std) (the Hugging Face / PyTorch layout), `${prefix}.bias` [out] = 0. */
export function initLinear(store: ParameterStore, prefix: string, inFeatures: number, outFeatures: number, std: number, rng: Rng, bias = true): void {
  initNormal(store, `${prefix}.weight`, [outFeatures, inFeatures], std, rng);
  if (bias) initConstant(store, `${prefix}.bias`, [outFeatures], 0);
}

/**
 * y = x W^T + b for x [..., in]. The product runs on a 2-D reshape [rows, in] x [in, out] with an
 * explicit transpose of W: the shape the wasm backend's XNNPACK path accepts.
 */
export function linear<T>(ops: Ops<T>, x: T, prefix: string, bias = true): T {
  const w = ops.param(`${prefix}.weight`);
  const [outFeatures, inFeatures] = ops.shape(w);
  const shape = ops.shape(x);
  if (shape[shape.length - 1] !== inFeatures) {
    throw new RangeError(`linear(${prefix}): input last dim ${shape[shape.length - 1]} != weight in_features ${inFeatures}`);
  }
  let y = ops.matMul(shape.length === 2 ? x : ops.reshape(x, [-1, inFeatures]), ops.transpose(w, [1, 0]));
  if (bias) y = ops.add(y, ops.param(`${prefix}.bias`));
  return shape.length === 2 ? y : ops.reshape(y, [...shape.slice(0, -1), outFeatures]);
}
