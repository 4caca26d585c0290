import type * as tf from '@tensorflow/tfjs-core';

/** A float32 tensor as plain data, for checkpoints. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Everything an optimizer needs to continue exactly where it stopped. */
export interface OptimizerState {
  kind: string;
  step: number; // updates applied so far (Adam's bias correction t)
  slots: Map<string, HostTensor>; // e.g. "m.<param>" and "v.<param>"
}

/** An optimizer over named tfjs Variables; the trainer owns the learning rate. */
export interface Optimizer {
  readonly kind: string;
  /** Updates applied so far. */
  readonly step: number;
  /** One update. Parameters without a gradient are left alone (as torch does for `grad is None`). */
  apply(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void;
  exportState(): OptimizerState;
  importState(state: OptimizerState): void;
  dispose(): void;
}

/**
 * Default weight-decay exclusion: biases and normalization weights (LayerNorm, RMSNorm, `ln_*`),
 * as in BERT and GPT-2 recipes, where decaying them only hurts.
 */
export function isNoDecayParam(name: string): boolean {
  return /(^|[._/])bias$/i.test(name) || /layer_?norm|rms_?norm|(^|[._/])ln(_\w+)?[._/]/i.test(name) || /(^|[._/])norm[._/]/i.test(name);
}
