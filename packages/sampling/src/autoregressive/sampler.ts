/**
 * Picking the next token from a processed logits row: greedy argmax, or one multinomial draw
 * from its softmax with a seeded random source.
 */
import { softmaxRows } from '../softmax';

/** What sampling needs from a random generator: uniform floats in [0, 1). `Rng` of @proj/core fits. */
export interface RandomSource {
  float(): number;
}

/** The id of the highest logit, the lowest id on ties. A row with no finite-or-+Infinity logit is an error. */
export function greedyToken(row: ArrayLike<number>, fn = 'greedyToken'): number {
  let best = -1;
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) {
    if (Number.isNaN(row[i])) throw new RangeError(`${fn}: logits[${i}] is NaN`);
    if (row[i] > max) [best, max] = [i, row[i]];
  }
  if (best < 0) throw new RangeError(`${fn}: every logit is -Infinity (no token allowed)`);
  return best;
}

/**
 * One draw from softmax(row) by inverse CDF: u = rng.float(), the token is the first whose float64
 * cumulative probability exceeds u. A token with probability 0 is never drawn. Uses exactly one
 * `rng.float()`, so a seed fixes the whole sequence of draws.
 */
export function sampleToken(row: ArrayLike<number>, rng: RandomSource, fn = 'sampleToken'): number {
  const probs = softmaxRows(row, row.length, fn, 'logits');
  const u = rng.float();
  if (!(u >= 0 && u < 1)) throw new RangeError(`${fn}: rng.float() must return a number in [0, 1), got ${u}`);
  let cumulative = 0;
  let last = -1;
  for (let i = 0; i < probs.length; i++) {
    if (probs[i] === 0) continue;
    cumulative += probs[i];
    last = i;
    if (u < cumulative) return i;
  }
  return last; // u fell in the rounding gap between the cumulative sum and 1
}
