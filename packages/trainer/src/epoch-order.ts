import type { Rng } from '@proj/core';

/** Batches per window that `group_by_length` sorts (Hugging Face's megabatch multiplier). */
export const LENGTH_GROUP_WINDOW = 50;

/**
 * One epoch's example order, drawn from `rng`: a permutation of 0..n-1 whose consecutive
 * `batchSize` slices are the epoch's micro-batches. With `lengthOf` (`group_by_length`), batches of
 * similar length: the permutation is cut into windows of `LENGTH_GROUP_WINDOW` batches, each
 * window sorted by length (longest first, ties in permutation order) and cut into batches, and the
 * full batches are shuffled (a short last batch stays last), so a batch pads little while the
 * epoch still meets its batches in random order. Without it, the permutation alone (one shuffle).
 */
export function epochOrder(rng: Rng, n: number, batchSize: number, lengthOf?: (index: number) => number): number[] {
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  if (lengthOf === undefined) return order;
  const lengths = new Float64Array(n);
  for (const i of order) {
    const length = lengthOf(i);
    if (!(Number.isFinite(length) && length >= 0)) throw new RangeError(`epochOrder: exampleLength(${i}) must be a finite number >= 0, got ${length}`);
    lengths[i] = length;
  }
  const batches: number[][] = [];
  const window = LENGTH_GROUP_WINDOW * batchSize;
  for (let start = 0; start < n; start += window) {
    // Stable sort: equal lengths keep their shuffled order.
    const sorted = order.slice(start, start + window).sort((a, b) => lengths[b] - lengths[a]);
    for (let b = 0; b < sorted.length; b += batchSize) batches.push(sorted.slice(b, b + batchSize));
  }
  const short = n % batchSize === 0 ? [] : batches.splice(batches.length - 1, 1);
  return [...rng.shuffle(batches), ...short].flat();
}
