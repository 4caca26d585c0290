import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { initConstant } from './init';

/** `${prefix}.weight` = 1, `${prefix}.bias` = 0 (HF names; old `gamma`/`beta` are renamed on load). */
export function initLayerNorm(store: ParameterStore, prefix: string, dim: number): void {
  initConstant(store, `${prefix}.weight`, [dim], 1);
  initConstant(store, `${prefix}.bias`, [dim], 0);
}

export function layerNorm<T>(ops: Ops<T>, x: T, prefix: string, eps: number): T {
  return ops.layerNorm(x, ops.param(`${prefix}.weight`), ops.param(`${prefix}.bias`), eps);
}
