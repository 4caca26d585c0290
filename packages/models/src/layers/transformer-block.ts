import type { Rng } from '@proj/core';
import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { type AttentionNames, BERT_ATTENTION_NAMES, initAttention, multiHeadAttention, prefixed } from './attention';
import { initLayerNorm, layerNorm } from './layer-norm';
import { initLinear, linear } from './linear';
import type { RopeAngles } from './rope';

/** Parameter prefixes of one transformer block (relative to the layer prefix). */
export interface BlockNames {
  attention: AttentionNames;
  /** LayerNorm after (post-LN) or before (pre-LN) attention. */
  attentionNorm: string;
  intermediate: string;
  output: string;
  /** LayerNorm after (post-LN) or before (pre-LN) the feed-forward. */
  outputNorm: string;
}

/** BERT's layer names: encoder.layer.N.{attention.*, intermediate.dense, output.dense, output.LayerNorm}. */
export const BERT_BLOCK_NAMES: BlockNames = {
  attention: BERT_ATTENTION_NAMES,
  attentionNorm: 'attention.output.LayerNorm',
  intermediate: 'intermediate.dense',
  output: 'output.dense',
  outputNorm: 'output.LayerNorm',
};

export interface BlockConfig {
  hidden: number;
  intermediate: number;
  numHeads: number;
  eps: number;
}

export interface BlockOptions<T> {
  /** Additive attention bias (padding and/or causal), broadcastable to [B, heads, L, L]. */
  bias?: T;
  /** Rotary position angles for the self-attention (`ropeAngles`); omit for learned positions. */
  rope?: RopeAngles<T>;
  /** Hidden dropout and attention dropout while training; omit for inference. */
  dropout?: { hidden: number; attention: number; rng: Rng };
}

export function initBlock(store: ParameterStore, prefix: string, cfg: BlockConfig, std: number, rng: Rng, names: BlockNames = BERT_BLOCK_NAMES): void {
  initAttention(store, prefixed(prefix, names.attention), cfg.hidden, std, rng);
  initLayerNorm(store, prefix + names.attentionNorm, cfg.hidden);
  initLinear(store, prefix + names.intermediate, cfg.hidden, cfg.intermediate, std, rng);
  initLinear(store, prefix + names.output, cfg.intermediate, cfg.hidden, std, rng);
  initLayerNorm(store, prefix + names.outputNorm, cfg.hidden);
}

function drop<T>(ops: Ops<T>, x: T, options: BlockOptions<T>): T {
  return options.dropout ? ops.dropout(x, options.dropout.hidden, options.dropout.rng) : x;
}

function attend<T>(ops: Ops<T>, x: T, prefix: string, cfg: BlockConfig, options: BlockOptions<T>, names: BlockNames): T {
  return multiHeadAttention(ops, x, prefixed(prefix, names.attention), {
    numHeads: cfg.numHeads,
    bias: options.bias,
    rope: options.rope,
    dropout: options.dropout ? { rate: options.dropout.attention, rng: options.dropout.rng } : undefined,
  });
}

/** Post-LN block (BERT): h = LN(x + Attn(x)); out = LN(h + W2 gelu(W1 h)). */
export function postLnBlock<T>(ops: Ops<T>, x: T, prefix: string, cfg: BlockConfig, options: BlockOptions<T> = {}, names: BlockNames = BERT_BLOCK_NAMES): T {
  const h = layerNorm(ops, ops.add(x, drop(ops, attend(ops, x, prefix, cfg, options, names), options)), prefix + names.attentionNorm, cfg.eps);
  const ff = linear(ops, ops.gelu(linear(ops, h, prefix + names.intermediate)), prefix + names.output);
  return layerNorm(ops, ops.add(h, drop(ops, ff, options)), prefix + names.outputNorm, cfg.eps);
}

/** Pre-LN block (GPT-2 style): h = x + Attn(LN(x)); out = h + W2 gelu(W1 LN(h)). */
export function preLnBlock<T>(ops: Ops<T>, x: T, prefix: string, cfg: BlockConfig, options: BlockOptions<T> = {}, names: BlockNames = BERT_BLOCK_NAMES): T {
  const h = ops.add(x, drop(ops, attend(ops, layerNorm(ops, x, prefix + names.attentionNorm, cfg.eps), prefix, cfg, options, names), options));
  const ff = linear(ops, ops.gelu(linear(ops, layerNorm(ops, h, prefix + names.outputNorm, cfg.eps), prefix + names.intermediate)), prefix + names.output);
  return ops.add(h, drop(ops, ff, options));
}
