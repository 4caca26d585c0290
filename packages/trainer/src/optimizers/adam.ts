import type * as tf from '@tensorflow/tfjs-core';
import { createAdamFamily } from './adamw';
import type { Optimizer } from './optimizer';

export interface AdamOptions {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  /** Learning-rate multiplier per parameter (default 1), as in `AdamWOptions`. */
  lrScale?: (name: string) => number;
}

/** Plain Adam (Kingma & Ba): no weight decay and no L2 term; matches torch.optim.Adam(weight_decay=0). */
export function createAdam(params: ReadonlyMap<string, tf.Variable>, options: AdamOptions = {}): Optimizer {
  return createAdamFamily('adam', params, { ...options, weightDecay: 0 });
}
