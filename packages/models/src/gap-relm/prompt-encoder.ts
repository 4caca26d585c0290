import type { Rng } from '@proj/core';
import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { initEmbedding } from '../layers/embedding';
import { initBiLstm, biLstm } from '../layers/lstm';
import { initLinear, linear } from '../layers/linear';

export type PromptEncoderKind = 'lstm' | 'mlp';

/**
 * P-tuning prompt encoder (Liu et al. 2021), parameter names as its PyTorch `PromptEncoder`:
 * `${prefix}embedding.weight` [P, H] → (lstm) `${prefix}lstm_head.*` BiLSTM with H/2 units per
 * direction → `${prefix}mlp_head.0` Linear(H, H) → ReLU → `${prefix}mlp_head.2` Linear(H, H).
 * Reparameterising the prompts through a small network is what makes them train stably.
 */
export function initPromptEncoder(store: ParameterStore, prefix: string, kind: PromptEncoderKind, length: number, hidden: number, std: number, rng: Rng): void {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`initPromptEncoder: length must be an integer >= 1, got ${length}`);
  initEmbedding(store, `${prefix}embedding`, length, hidden, std, rng);
  if (kind === 'lstm') {
    if (hidden % 2 !== 0) throw new RangeError(`initPromptEncoder: hidden must be even for the BiLSTM (hidden / 2 per direction), got ${hidden}`);
    initBiLstm(store, `${prefix}lstm_head`, hidden, hidden / 2, rng);
  }
  initLinear(store, `${prefix}mlp_head.0`, hidden, hidden, std, rng);
  initLinear(store, `${prefix}mlp_head.2`, hidden, hidden, std, rng);
}

/** The P prompt embeddings [P, H]; independent of the batch, so computed once per forward. */
export function promptEmbeddings<T>(ops: Ops<T>, prefix: string, kind: PromptEncoderKind): T {
  let x = ops.param(`${prefix}embedding.weight`);
  if (kind === 'lstm') {
    const [p, h] = ops.shape(x);
    // One "sentence" of P prompt tokens: [1, P, H] → BiLSTM → [1, P, H] → [P, H].
    x = ops.reshape(biLstm(ops, ops.reshape(x, [1, p, h]), `${prefix}lstm_head`), [p, h]);
  }
  return linear(ops, ops.relu(linear(ops, x, `${prefix}mlp_head.0`)), `${prefix}mlp_head.2`);
}
