import * as tf from '@tensorflow/tfjs-core';

/**
 * Scales gradients so their global L2 norm is at most `maxNorm`, as torch.nn.utils.clip_grad_norm_
 * does (coefficient maxNorm / (norm + 1e-6), capped at 1). Returns the norm BEFORE clipping and
 * new tensors; the caller disposes both the inputs and the outputs. `maxNorm` 0 = measure only.
 */
export function clipByGlobalNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): { grads: Map<string, tf.Tensor>; norm: number } {
  if (!(maxNorm >= 0)) throw new RangeError(`clipByGlobalNorm: maxNorm must be >= 0, got ${maxNorm}`);
  if (grads.size === 0) return { grads: new Map(), norm: 0 };
  const norm = tf.tidy(() => tf.sqrt(tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g))))).dataSync()[0]);
  const coef = maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
  const out = new Map<string, tf.Tensor>();
  for (const [name, g] of grads) out.set(name, coef === 1 ? tf.clone(g) : tf.mul(g, coef));
  return { grads: out, norm };
}
