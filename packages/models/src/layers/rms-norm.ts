import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { initConstant } from './init';

/** `${prefix}.weight` = 1 (RMSNorm has no bias). */
export function initRmsNorm(store: ParameterStore, prefix: string, dim: number): void {
  initConstant(store, `${prefix}.weight`, [dim], 1);
}

/**
 * RMSNorm over the last axis, as Llama's: x / sqrt(mean(x²) + eps) · weight (no centring, no
 * bias). Written on Ops primitives, so it records into a graph as it runs on tfjs.
 */
export function rmsNorm<T>(ops: Ops<T>, x: T, prefix: string, eps: number): T {
  const meanSquare = ops.mean(ops.mul(x, x), [ops.shape(x).length - 1], true);
  return ops.mul(ops.div(x, ops.sqrt(ops.add(meanSquare, ops.scalar(eps)))), ops.param(`${prefix}.weight`));
}
