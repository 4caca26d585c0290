import type { Rng } from '@proj/core';
import type { Dim, Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { initLinear, linear } from './linear';
import { applyRope, type RopeAngles } from './rope';

/** Parameter prefixes of one attention block; BERT's are the default. */
export interface AttentionNames {
  query: string;
  key: string;
  value: string;
  output: string;
}

export const BERT_ATTENTION_NAMES: AttentionNames = {
  query: 'attention.self.query',
  key: 'attention.self.key',
  value: 'attention.self.value',
  output: 'attention.output.dense',
};

export function prefixed(prefix: string, names: AttentionNames): AttentionNames {
  return { query: prefix + names.query, key: prefix + names.key, value: prefix + names.value, output: prefix + names.output };
}

export function initAttention(store: ParameterStore, names: AttentionNames, hidden: number, std: number, rng: Rng, kvHidden = hidden): void {
  initLinear(store, names.query, hidden, hidden, std, rng);
  initLinear(store, names.key, kvHidden, hidden, std, rng);
  initLinear(store, names.value, kvHidden, hidden, std, rng);
  initLinear(store, names.output, hidden, hidden, std, rng);
}

// Large negative rather than -Infinity: a fully masked row then gives a uniform softmax, not NaN.
const MASKED = -1e9;

/**
 * Additive attention bias from a padding mask [B, Lk] (1 = attend, 0 = padding):
 * [B, 1, 1, Lk] with 0 where attended and -1e9 where masked.
 */
export function paddingMaskBias<T>(ops: Ops<T>, mask: T): T {
  const [b, lk] = ops.shape(mask);
  const m = ops.cast(mask, 'float32');
  return ops.reshape(ops.mul(ops.sub(ops.scalar(1), m), ops.scalar(MASKED)), [b, 1, 1, lk]);
}

/**
 * Additive causal bias [1, 1, L, L] (position i sees j <= i), sliced from a maxLength square so a
 * recorded graph keeps L dynamic.
 */
export function causalMaskBias<T>(ops: Ops<T>, length: Dim, maxLength: number): T {
  if (typeof length === 'number' && length > maxLength) throw new RangeError(`causalMaskBias: length ${length} > maxLength ${maxLength}`);
  const values = new Float32Array(maxLength * maxLength);
  for (let i = 0; i < maxLength; i++) for (let j = i + 1; j < maxLength; j++) values[i * maxLength + j] = MASKED;
  const square = ops.constant(values, [maxLength, maxLength]);
  return ops.reshape(ops.slice(square, [0, 0], [length, length]), [1, 1, length, length]);
}

export interface AttentionOptions<T> {
  numHeads: number;
  /** Additive bias broadcastable to [B, heads, Lq, Lk] (padding and/or causal). */
  bias?: T;
  /** Keys/values come from here (cross-attention); defaults to the query input (self-attention). */
  keyValue?: T;
  /** Rotary position angles (`ropeAngles`) applied to queries and keys; for self-attention. */
  rope?: RopeAngles<T>;
  /**
   * Key/value heads for grouped-query attention (Llama's num_key_value_heads): query head j uses
   * key/value head floor(j / (numHeads / numKvHeads)). Default numHeads (plain multi-head).
   */
  numKvHeads?: number;
  /** Whether the q/k/v/o projections have biases (BERT yes, Llama no). Default true. */
  projectionBias?: boolean;
  dropout?: { rate: number; rng: Rng };
}

/**
 * Keys and values of one self-attention layer for the positions seen so far, [B, hkv, L, d] each,
 * keys after RoPE: what a KV cache keeps between decoding steps.
 */
export interface KeyValueCache<T> {
  key: T;
  value: T;
}

/**
 * Multi-head scaled dot-product attention, x [B, Lq, H] -> [B, Lq, H] (before any residual).
 * Heads are split with reshape + explicit transposes; K is transposed to [B, h, d, Lk] so the
 * score product needs no transpose flag.
 */
export function multiHeadAttention<T>(ops: Ops<T>, x: T, names: AttentionNames, options: AttentionOptions<T>): T {
  return attend(ops, x, names, options, undefined).output;
}

/**
 * Self-attention for incremental decoding: the new positions x [B, Lq, H] attend to `past` (the
 * cache of the earlier positions, if any) and to themselves; returns the output and the cache
 * extended by x's keys and values. RoPE angles (`options.rope`) must start at the past length and
 * `options.bias` must be [.., Lq, past + Lq] (none is needed for one new position).
 */
export function cachedSelfAttention<T>(
  ops: Ops<T>,
  x: T,
  names: AttentionNames,
  options: AttentionOptions<T>,
  past?: KeyValueCache<T>,
): { output: T; present: KeyValueCache<T> } {
  if (options.keyValue !== undefined) throw new RangeError(`cachedSelfAttention(${names.query}): self-attention only (no keyValue)`);
  const { output, present } = attend(ops, x, names, options, { past });
  return { output, present: present! };
}

function attend<T>(ops: Ops<T>, x: T, names: AttentionNames, options: AttentionOptions<T>, cache: { past?: KeyValueCache<T> } | undefined): { output: T; present?: KeyValueCache<T> } {
  const { numHeads, bias, dropout } = options;
  const numKvHeads = options.numKvHeads ?? numHeads;
  const withBias = options.projectionBias ?? true;
  const kvInput = options.keyValue ?? x;
  const [b, lq, hidden] = ops.shape(x);
  let lk = ops.shape(kvInput)[1];
  if (typeof hidden !== 'number' || hidden % numHeads !== 0) {
    throw new RangeError(`multiHeadAttention(${names.query}): hidden size ${hidden} is not divisible by numHeads ${numHeads}`);
  }
  if (!Number.isInteger(numKvHeads) || numKvHeads < 1 || numHeads % numKvHeads !== 0) {
    throw new RangeError(`multiHeadAttention(${names.query}): numHeads ${numHeads} is not divisible by numKvHeads ${numKvHeads}`);
  }
  const headDim = hidden / numHeads;
  const group = numHeads / numKvHeads;
  const split = (t: T, len: Dim, heads: number, perm: number[]) => ops.transpose(ops.reshape(t, [b, len, heads, headDim]), perm);
  const rope = options.rope;
  let q = split(linear(ops, x, names.query, withBias), lq, numHeads, [0, 2, 1, 3]); // [B, h, Lq, d]
  if (rope !== undefined) q = applyRope(ops, q, rope);
  let kT!: T; // [B, hkv, d, Lk], set on every path below
  let k: T | undefined; // [B, hkv, Lk, d], kept for the cache
  if (cache !== undefined) {
    k = split(linear(ops, kvInput, names.key, withBias), lk, numKvHeads, [0, 2, 1, 3]);
    if (rope !== undefined) k = applyRope(ops, k, rope);
  } else if (rope === undefined) kT = split(linear(ops, kvInput, names.key, withBias), lk, numKvHeads, [0, 2, 3, 1]);
  else kT = ops.transpose(applyRope(ops, split(linear(ops, kvInput, names.key, withBias), lk, numKvHeads, [0, 2, 1, 3]), rope), [0, 1, 3, 2]);
  let v = split(linear(ops, kvInput, names.value, withBias), lk, numKvHeads, [0, 2, 1, 3]); // [B, hkv, Lk, d]
  let present: KeyValueCache<T> | undefined;
  if (cache !== undefined) {
    // The new keys (after RoPE) and values appended to the cache along the length axis.
    if (cache.past !== undefined) {
      k = ops.concat([cache.past.key, k!], 2);
      v = ops.concat([cache.past.value, v], 2);
      lk = ops.shape(k)[2];
    }
    present = { key: k!, value: v };
    kT = ops.transpose(k!, [0, 1, 3, 2]);
  }
  // Grouped queries: the `group` query heads of one key/value head are stacked along the rows,
  // [B, hkv, group·Lq, d], so K and V are used as they are (no repeat_kv copies).
  const grouped = (t: T, cols: Dim) => (group === 1 ? t : ops.reshape(t, [b, numKvHeads, -1, cols]));
  const perHead = (t: T, cols: Dim) => (group === 1 ? t : ops.reshape(t, [b, numHeads, lq, cols]));
  let scores = perHead(ops.mul(ops.matMul(grouped(q, headDim), kT), ops.scalar(1 / Math.sqrt(headDim))), lk); // [B, h, Lq, Lk]
  if (bias !== undefined) scores = ops.add(scores, bias);
  let probs = ops.softmax(scores);
  if (dropout) probs = ops.dropout(probs, dropout.rate, dropout.rng);
  const heads = perHead(ops.matMul(grouped(probs, lk), v), headDim); // [B, h, Lq, d]
  const context = ops.reshape(ops.transpose(heads, [0, 2, 1, 3]), [b, lq, hidden]);
  return { output: linear(ops, context, names.output, withBias), present };
}
