import type { PackedTokens } from './packed-tokens';
import { windowArrays } from './task';

/**
 * Summed next-token negative log-likelihood of `logits` [N, vocab] (row-major) against `targets`
 * [N], each row's log-sum-exp taken in float64 around its maximum.
 */
export function sumNextTokenNll(logits: Float32Array, targets: Int32Array, vocab: number): number {
  if (logits.length !== targets.length * vocab) throw new RangeError(`sumNextTokenNll: logits has ${logits.length} entries, not targets ${targets.length} x vocab ${vocab}`);
  let total = 0;
  for (let n = 0; n < targets.length; n++) {
    const row = logits.subarray(n * vocab, (n + 1) * vocab);
    const t = targets[n];
    if (!(t >= 0 && t < vocab)) throw new RangeError(`sumNextTokenNll: target ${n} is ${t}, outside the vocabulary 0..${vocab - 1}`);
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) if (row[v] > max) max = row[v];
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(row[v] - max);
    total += max + Math.log(sum) - row[t];
  }
  return total;
}

export interface HeldoutLoss {
  /** Mean next-token cross-entropy (nats). */
  loss: number;
  perplexity: number;
  windows: number;
}

/** Logits at every position, [rows, length, vocab], of ids [rows × length]: any engine's forward. */
export type CausalLmLogitsFn = (ids: Int32Array, rows: number, length: number) => Promise<Float32Array>;

/**
 * Held-out loss and perplexity of the first `windows` windows of `seqLen + 1` tokens of `data`
 * (those `createCausalLmTask`'s evaluate scores), through any engine's `logitsOf`, `batchSize`
 * windows per call.
 */
export async function heldoutLoss(data: PackedTokens, options: { seqLen: number; windows: number; batchSize?: number; vocab: number }, logitsOf: CausalLmLogitsFn): Promise<HeldoutLoss> {
  const { seqLen, vocab, batchSize = 16 } = options;
  const windows = Math.min(options.windows, data.numWindows(seqLen));
  if (windows === 0) throw new RangeError(`heldoutLoss: the corpus has ${data.numTokens} tokens, fewer than seqLen + 1 = ${seqLen + 1}`);
  let nll = 0;
  for (let start = 0; start < windows; start += batchSize) {
    const indices = Array.from({ length: Math.min(batchSize, windows - start) }, (_, k) => start + k);
    const { inputs, targets } = await windowArrays(data, indices, seqLen);
    nll += sumNextTokenNll(await logitsOf(inputs, indices.length, seqLen), targets, vocab);
  }
  const loss = nll / (windows * seqLen);
  return { loss, perplexity: Math.exp(loss), windows };
}
