import type { Rng } from '@proj/core';
import { maskProbability } from './schedule';

/** Label of positions the loss skips (not masked, or padding); the `crossEntropy` ignore index. */
export const IGNORE_INDEX = -100;

/** One noised batch, row-major [B, L], on the host. */
export interface NoisedTokens {
  /** Tokens after the forward process: [MASK] where replaced, padding beyond each row. */
  inputIds: Int32Array;
  /** 1 within each row's length, 0 beyond. */
  attentionMask: Int32Array;
  /** The original token where masked, IGNORE_INDEX elsewhere. */
  labels: Int32Array;
  /** Flat indices b · L + i of the masked positions, in order (the rows the loss gathers). */
  positions: Int32Array;
  /** The original tokens at `positions`. */
  targets: Int32Array;
}

export interface ForwardProcessOptions {
  numTimesteps: number;
  maskId: number;
  padId: number;
  /**
   * Tokens never masked, e.g. [CLS] and [SEP]. Known tokens at both ends matter: with RoPE and no
   * position embeddings, an all-[MASK] row would give every position the same hidden state.
   */
  keepIds?: readonly number[];
  /**
   * Mask one uniformly chosen position in a row the draw left unmasked (default true), so every row
   * trains; at small t the draw often masks nothing. Off for the plain process.
   */
  atLeastOne?: boolean;
}

/** Timesteps t ~ uniform{1, ..., T}, one per row. */
export function sampleTimesteps(rows: number, numTimesteps: number, rng: Rng): Int32Array {
  return Int32Array.from({ length: rows }, () => 1 + rng.int(numTimesteps));
}

/** Per row 1 (conditional) or, with probability `uncondProb`, 0 (the null vector): classifier-free guidance training. */
export function sampleConditions(rows: number, uncondProb: number, rng: Rng): Float32Array {
  if (!(uncondProb >= 0 && uncondProb <= 1)) throw new RangeError(`sampleConditions: uncondProb must be in [0, 1], got ${uncondProb}`);
  return Float32Array.from({ length: rows }, () => (rng.bernoulli(uncondProb) ? 0 : 1));
}

/**
 * The forward process q(x_t | x_0): each token of row b (but `keepIds`) is replaced by [MASK]
 * independently with probability 1 − alpha_bar(t_b). Rows are padded to the longest; draws run row by row, position
 * by position, so the result is a function of the rows, the timesteps and the rng state.
 */
export function maskTokens(rows: readonly ArrayLike<number>[], timesteps: ArrayLike<number>, rng: Rng, options: ForwardProcessOptions): NoisedTokens {
  const { numTimesteps, maskId, padId, atLeastOne = true } = options;
  const keep = new Set(options.keepIds ?? []);
  if (timesteps.length !== rows.length) throw new RangeError(`maskTokens: ${rows.length} rows but ${timesteps.length} timesteps`);
  const B = rows.length;
  const L = Math.max(0, ...rows.map((r) => r.length));
  const inputIds = new Int32Array(B * L).fill(padId);
  const attentionMask = new Int32Array(B * L);
  const labels = new Int32Array(B * L).fill(IGNORE_INDEX);
  const positions: number[] = [];
  const targets: number[] = [];
  for (let b = 0; b < B; b++) {
    const row = rows[b];
    const p = maskProbability(timesteps[b], numTimesteps);
    const masked: number[] = [];
    const maskable: number[] = [];
    for (let i = 0; i < row.length; i++) {
      inputIds[b * L + i] = row[i];
      attentionMask[b * L + i] = 1;
      if (keep.has(row[i])) continue;
      maskable.push(i);
      if (rng.float() < p) masked.push(i);
    }
    if (atLeastOne && masked.length === 0 && maskable.length > 0) masked.push(maskable[rng.int(maskable.length)]);
    for (const i of masked) {
      labels[b * L + i] = row[i];
      inputIds[b * L + i] = maskId;
      positions.push(b * L + i);
      targets.push(row[i]);
    }
  }
  return { inputIds, attentionMask, labels, positions: Int32Array.from(positions), targets: Int32Array.from(targets) };
}
