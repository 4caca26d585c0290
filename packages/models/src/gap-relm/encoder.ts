import type { Rng } from '@proj/core';
import type { BertConfig } from '../bert/config';
import { positionEmbeddings, type BertInputs } from '../bert/model';
import type { Ops } from '../ops/ops';
import { paddingMaskBias } from '../layers/attention';
import { layerNorm } from '../layers/layer-norm';
import { postLnBlock, type BlockConfig } from '../layers/transformer-block';

export function blockConfig(cfg: BertConfig): BlockConfig {
  return { hidden: cfg.hiddenSize, intermediate: cfg.intermediateSize, numHeads: cfg.numAttentionHeads, eps: cfg.layerNormEps };
}

/** BERT inputs, and the slot hints of an infiller input (`slot_hint`): ids [B, L] and a float mask [B, L, 1]. */
export interface EncoderInputs<T> extends BertInputs<T> {
  hintIds?: T;
  hintMask?: T;
}

/**
 * A BERT encoder (the same math as `BertModel.forward`, parameters `${prefix}embeddings.*`,
 * `${prefix}encoder.layer.N.*`) whose inputs may hold P-tuning prompt tokens. Prompts are given
 * as an embedding matrix [P, H] appended to the word-embedding table, so the virtual token j has
 * id vocab_size + j: the input ids already place the prompts (after [CLS]), positions and token
 * types run over them like over any token, and the recorded graph stays one Gather.
 */
export function encode<T>(ops: Ops<T>, cfg: BertConfig, prefix: string, inputs: EncoderInputs<T>, prompts: T | null, training?: { rng: Rng }): T {
  const p = `${prefix}embeddings.`;
  const [, len] = ops.shape(inputs.inputIds);
  if (typeof len === 'number' && len > cfg.maxPositionEmbeddings) {
    throw new RangeError(`encode(${prefix}): input length ${len} exceeds max_position_embeddings ${cfg.maxPositionEmbeddings}`);
  }
  const words = ops.param(`${p}word_embeddings.weight`);
  const table = prompts === null ? words : ops.concat([words, prompts], 0);
  const positions = positionEmbeddings(ops, inputs, `${p}position_embeddings.weight`, len);
  const types = inputs.tokenTypeIds !== undefined
    ? ops.gather(ops.param(`${p}token_type_embeddings.weight`), inputs.tokenTypeIds)
    : ops.slice(ops.param(`${p}token_type_embeddings.weight`), [0, 0], [1, -1]);
  let tokens = ops.gather(table, inputs.inputIds);
  // slot_hint: the replaced source token's embedding added where hintMask [B, L, 1] is 1.
  if (inputs.hintIds !== undefined && inputs.hintMask !== undefined) tokens = ops.add(tokens, ops.mul(ops.gather(table, inputs.hintIds), inputs.hintMask));
  let h = layerNorm(ops, ops.add(ops.add(tokens, positions), types), `${p}LayerNorm`, cfg.layerNormEps);
  if (training) h = ops.dropout(h, cfg.hiddenDropoutProb, training.rng);
  const bias = inputs.attentionMask !== undefined ? paddingMaskBias(ops, inputs.attentionMask) : undefined;
  const dropout = training ? { hidden: cfg.hiddenDropoutProb, attention: cfg.attentionProbsDropoutProb, rng: training.rng } : undefined;
  for (let i = 0; i < cfg.numHiddenLayers; i++) h = postLnBlock(ops, h, `${prefix}encoder.layer.${i}.`, blockConfig(cfg), { bias, dropout });
  return h;
}
