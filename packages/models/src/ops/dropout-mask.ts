import type { Rng } from '@proj/core';

/**
 * An inverted-dropout mask of `size` elements: 0 with probability `rate`, else 1 / (1 − rate),
 * one `rng.float()` per element in order. TfOps multiplies by it; a training graph takes the same
 * masks as inputs (`dropoutMaskFeeds`), so both engines drop the same units for the same rng.
 */
export function dropoutMask(size: number, rate: number, rng: Rng): Float32Array {
  if (!(rate >= 0 && rate < 1)) throw new RangeError(`dropoutMask: rate must be in [0, 1), got ${rate}`);
  const mask = new Float32Array(size);
  const scale = 1 / (1 - rate);
  for (let i = 0; i < size; i++) mask[i] = rng.float() < rate ? 0 : scale;
  return mask;
}
