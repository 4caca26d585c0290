/**
 * `applyTopK` and `applyTopP` as they were before they stopped ranking the whole vocabulary
 * (commit 8ea2eb7): every id sorted by logit, then the cut. Not exported from the package: the
 * tests check the two filters against these and tools/bench/sampling.ts times them as the baseline.
 */
import { softmaxRows } from '../softmax';

const fullRanking = (row: Float32Array) => Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);

export function applyTopKFullSort(row: Float32Array, k: number): Float32Array {
  if (k === 0 || k >= row.length) return row;
  for (const id of fullRanking(row).slice(k)) row[id] = -Infinity;
  return row;
}

export function applyTopPFullSort(row: Float32Array, p: number): Float32Array {
  if (p === 1) return row;
  const probs = softmaxRows(row, row.length, 'applyTopP', 'row');
  const ranked = fullRanking(row);
  let mass = 0;
  let kept = 0;
  while (kept < ranked.length && (kept === 0 || mass < p)) mass += probs[ranked[kept++]];
  for (const id of ranked.slice(kept)) row[id] = -Infinity;
  return row;
}
