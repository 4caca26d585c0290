/**
 * Logits processors: pure functions that rewrite one vocabulary row in place, given the tokens
 * so far (prompt + generated). A removed token gets `-Infinity`, so the softmax gives it
 * probability 0. `processLogits` applies them in transformers' order.
 */
import { softmaxRows } from '../softmax';
import type { SamplingControls } from './generation-config';

/** CTRL-style: each distinct token of `tokens` gets its logit divided by `penalty` if positive, multiplied if negative. */
export function applyRepetitionPenalty(row: Float32Array, tokens: readonly number[], penalty: number): Float32Array {
  if (!(penalty > 0)) throw new RangeError(`applyRepetitionPenalty: penalty must be > 0, got ${penalty}`);
  for (const t of new Set(tokens)) {
    if (t < 0 || t >= row.length) continue; // not a column of this row (cannot be emitted anyway)
    row[t] = row[t] > 0 ? row[t] / penalty : row[t] * penalty;
  }
  return row;
}

/**
 * Bans (`-Infinity`) every token that would complete an n-gram already present in `tokens`: the
 * last n - 1 tokens are the prefix, and each earlier occurrence of that prefix bans the token that
 * followed it. n = 1 bans every token seen.
 */
export function banRepeatedNgrams(row: Float32Array, tokens: readonly number[], n: number): Float32Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`banRepeatedNgrams: n must be an integer >= 1, got ${n}`);
  const start = tokens.length - (n - 1); // where the current prefix begins
  if (start < 0) return row;
  for (let i = 0; i + n <= tokens.length; i++) {
    let match = true;
    for (let j = 0; j < n - 1 && match; j++) match = tokens[i + j] === tokens[start + j];
    const banned = tokens[i + n - 1];
    if (match && banned >= 0 && banned < row.length) row[banned] = -Infinity;
  }
  return row;
}

/** Divides the row by `temperature` (> 0): below 1 sharpens the distribution, above 1 flattens it. */
export function applyTemperature(row: Float32Array, temperature: number): Float32Array {
  if (!(temperature > 0 && temperature < Infinity)) {
    throw new RangeError(`applyTemperature: temperature must be a finite number > 0, got ${temperature}`);
  }
  for (let i = 0; i < row.length; i++) row[i] /= temperature;
  return row;
}

/** `ids` by descending logit, lower id first on ties (so cut-offs are deterministic); sorts `ids` in place. */
function rankIds(row: Float32Array, ids: number[]): number[] {
  return ids.sort((a, b) => row[b] - row[a] || a - b);
}

// Buckets of logits by distance below the row's top logit: 1/8 nat wide, a last one from 64 nats down (and -Infinity).
const BUCKETS_PER_NAT = 8;
const LAST_BUCKET = 64 * BUCKETS_PER_NAT;

/**
 * The head of the ranking of `row` (rankIds order) that holds at least `target` of `weight`
 * (1 per token when null), found without sorting the whole row: tokens go into buckets by
 * distance below the top logit, then only the top buckets down to the one where the bucket totals
 * reach `target` are ranked. The bucket is monotone in the logit (equal logits share one), so the
 * ids returned are exactly the start of the full ranking, in the same order.
 */
function rankedHead(row: Float32Array, weight: ArrayLike<number> | null, target: number): number[] {
  let top = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i] > top) top = row[i];
  const bucketOf = new Uint16Array(row.length);
  const total = new Float64Array(LAST_BUCKET + 1);
  for (let i = 0; i < row.length; i++) {
    const distance = (top - row[i]) * BUCKETS_PER_NAT;
    const bucket = distance < LAST_BUCKET ? Math.floor(distance) : LAST_BUCKET; // NaN (no finite top) too: everything is ranked
    bucketOf[i] = bucket;
    total[bucket] += weight === null ? 1 : weight[i];
  }
  let cut = 0;
  for (let sum = total[0]; sum < target && cut < LAST_BUCKET; ) sum += total[++cut];
  const head: number[] = [];
  for (let i = 0; i < row.length; i++) if (bucketOf[i] <= cut) head.push(i);
  return rankIds(row, head);
}

/** Sets every column of `row` to `-Infinity` except `kept`. */
function keepOnly(row: Float32Array, kept: readonly number[]): Float32Array {
  const keep = new Uint8Array(row.length);
  for (const id of kept) keep[id] = 1;
  for (let i = 0; i < row.length; i++) if (!keep[i]) row[i] = -Infinity;
  return row;
}

/** Keeps exactly the k highest logits (ties: lower id kept) and sets the rest to `-Infinity`; k = 0 or k >= vocab = off. */
export function applyTopK(row: Float32Array, k: number): Float32Array {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`applyTopK: k must be an integer >= 0, got ${k}`);
  if (k === 0 || k >= row.length) return row;
  return keepOnly(row, rankedHead(row, null, k).slice(0, k));
}

/** How many of `ranked` it takes, from the top, for their mass to reach p (at least one); `Infinity` if they never do. */
function nucleusSize(ranked: readonly number[], probs: Float64Array, p: number): number {
  let mass = 0;
  let kept = 0;
  while (kept < ranked.length && (kept === 0 || mass < p)) mass += probs[ranked[kept++]];
  return mass < p ? Infinity : kept;
}

/**
 * Nucleus filtering: keeps the smallest set of most probable tokens whose probability mass is
 * >= p (always at least the top one; ties: lower id first), sets the rest to `-Infinity`.
 * p = 1 = off. Probabilities are float64 softmax of the row, summed down the ranking. Only the
 * head of the ranking that can hold the nucleus is sorted (after top-k, about the k survivors).
 */
export function applyTopP(row: Float32Array, p: number): Float32Array {
  if (!(p > 0 && p <= 1)) throw new RangeError(`applyTopP: p must be in (0, 1], got ${p}`);
  if (p === 1) return row;
  const probs = softmaxRows(row, row.length, 'applyTopP', 'row');
  let ranked = rankedHead(row, probs, p);
  let kept = nucleusSize(ranked, probs, p);
  // The bucket totals summed the same mass in another order; if rounding leaves the head short of p, rank everything.
  if (kept === Infinity && ranked.length < row.length) kept = nucleusSize((ranked = rankIds(row, Array.from(row.keys()))), probs, p);
  return kept === Infinity ? row : keepOnly(row, ranked.slice(0, kept));
}

/** Keeps tokens whose probability is >= minP × the top probability; 0 = off. The top token always stays. */
export function applyMinP(row: Float32Array, minP: number): Float32Array {
  if (!(minP >= 0 && minP <= 1)) throw new RangeError(`applyMinP: minP must be in [0, 1], got ${minP}`);
  if (minP === 0) return row;
  const probs = softmaxRows(row, row.length, 'applyMinP', 'row');
  const threshold = minP * Math.max(...probs);
  for (let i = 0; i < row.length; i++) if (probs[i] < threshold) row[i] = -Infinity;
  return row;
}

/**
 * One row through every active processor, in transformers' order: first the ones that change
 * what the model said (repetition penalty, n-gram ban, both on raw logits), then, when sampling,
 * the warpers (temperature, top-k, top-p, min-p). Greedy decoding skips the warpers: none of
 * them can change the argmax (top-p and min-p always keep the top token).
 */
export function processLogits(
  row: Float32Array,
  tokens: readonly number[],
  config: SamplingControls,
): Float32Array {
  if (config.repetitionPenalty !== 1) applyRepetitionPenalty(row, tokens, config.repetitionPenalty);
  if (config.noRepeatNgramSize > 0) banRepeatedNgrams(row, tokens, config.noRepeatNgramSize);
  if (!config.doSample) return row;
  if (config.temperature !== 1) applyTemperature(row, config.temperature);
  if (config.topK > 0) applyTopK(row, config.topK);
  if (config.topP < 1) applyTopP(row, config.topP);
  if (config.minP > 0) applyMinP(row, config.minP);
  return row;
}
