import type { Rng } from '@proj/core';
import type { BertConfig } from '../bert/config';
import type { Ops } from '../ops/ops';
import { layerNorm } from '../layers/layer-norm';
import { linear } from '../layers/linear';
import { encode, type EncoderInputs } from './encoder';

/** Parameter prefix of the infiller inside a GapRelm; its checkpoint drops it and is a plain BertForMaskedLM. */
export const INFILLER = 'infiller.';

/**
 * BertForMaskedLM's prediction head (dense → gelu → LayerNorm → decoder tied to the word
 * embeddings + bias), the same math as `BertForMaskedLM.predictionHead`, under `infiller.`:
 * hidden [N, H] → logits [N, vocab].
 */
export function infillerHead<T>(ops: Ops<T>, cfg: BertConfig, hidden: T): T {
  const p = `${INFILLER}cls.predictions.`;
  const t = layerNorm(ops, ops.gelu(linear(ops, hidden, `${p}transform.dense`)), `${p}transform.LayerNorm`, cfg.layerNormEps);
  const decoder = ops.transpose(ops.param(`${INFILLER}bert.embeddings.word_embeddings.weight`), [1, 0]);
  return ops.add(ops.matMul(t, decoder), ops.param(`${p}bias`));
}

/**
 * Infiller = BertForMaskedLM over `[CLS] (P prompts) source [SEP] template [SEP]` (or the
 * template alone). MLM logits [N, vocab] only at `positions` (flat b * L + i, int32 [N]): the
 * hidden states are gathered first, so no [B, L, vocab] tensor is ever built.
 */
export function infillerForward<T>(ops: Ops<T>, cfg: BertConfig, inputs: EncoderInputs<T>, prompts: T | null, positions: T, training?: { rng: Rng }): T {
  return infillerHeadAt(ops, cfg, encode(ops, cfg, `${INFILLER}bert.`, inputs, prompts, training), positions);
}

/** The MLM head on encoder outputs h [B, L, H] at flat `positions` only (b * L + i): logits [N, vocab]. */
export function infillerHeadAt<T>(ops: Ops<T>, cfg: BertConfig, h: T, positions: T): T {
  const hidden = ops.shape(h)[2];
  return infillerHead(ops, cfg, ops.gather(ops.reshape(h, [-1, hidden]), positions));
}
