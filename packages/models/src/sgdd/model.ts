import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@proj/core';
import type { BertConfig } from '../bert/config';
import type { BertModel } from '../bert/model';
import { initAttention, multiHeadAttention, paddingMaskBias, prefixed, type AttentionNames } from '../layers/attention';
import { embedding, initEmbedding } from '../layers/embedding';
import { initConstant, initNormal } from '../layers/init';
import { initLayerNorm, layerNorm } from '../layers/layer-norm';
import { initLinear, linear } from '../layers/linear';
import { ropeAngles } from '../layers/rope';
import { BERT_BLOCK_NAMES, initBlock, preLnBlock, type BlockConfig, type BlockNames } from '../layers/transformer-block';
import type { Ops } from '../ops/ops';
import { ParameterStore } from '../ops/parameter-store';
import type { SgddConfig } from './config';
import { sinusoidalTimestepTable } from './timestep-embedding';

/**
 * Decoder inputs. Shapes: ids and mask [B, L]; timesteps [B] int32 in [0, T]; semantic [B, E]
 * (the frozen encoder's pooled vectors); condition [B] float32, 1 = use the semantic vector,
 * 0 = the learned null vector (classifier-free guidance).
 */
export interface SgddInputs<T> {
  inputIds: T;
  attentionMask: T;
  timesteps: T;
  semantic: T;
  condition: T;
}

export interface SgddForwardOptions<T> {
  /** Flat indices b · L + i where logits are wanted ([N]): `logits` [N, V]. The loss needs only masked positions. */
  positions?: T;
  /** Also return `fullLogits` [B, L, V] (decoding, export). */
  fullLogits?: boolean;
  /** Training mode: dropout on, masks from this seeded RNG. */
  training?: { rng: Rng };
}

/** A noised batch on the host (see `maskTokens`), ready for `SgddModel.batchLoss`. */
export interface SgddHostBatch {
  batch: number;
  length: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  timesteps: Int32Array;
  /** [B, E] row-major. */
  semantic: Float32Array;
  condition: Float32Array;
  positions: Int32Array;
  targets: Int32Array;
}

export const SGDD_WORD_EMBEDDINGS = 'embeddings.word_embeddings.weight';
/** Learned absolute positions [max_length, H] (`absolute_positions`), added to the token embeddings. */
export const SGDD_POSITION_EMBEDDINGS = 'embeddings.position_embeddings.weight';
/** The semantic vector's projection to the cross-attention memory, E -> memory_tokens · H. */
export const SGDD_SEMANTIC_PROJECTION = 'semantic_projection';
/** The null memory of classifier-free guidance: memory_tokens learned tokens, [memory_tokens · H]. */
export const SGDD_NULL_MEMORY = 'null_semantic';

/** Self-attention + FFN names inside `layers.N.` (a pre-LN block of layers/transformer-block.ts). */
export const SGDD_BLOCK_NAMES: BlockNames = {
  attention: { query: 'self_attention.query', key: 'self_attention.key', value: 'self_attention.value', output: 'self_attention.output' },
  attentionNorm: 'self_attention_norm',
  intermediate: 'ffn.intermediate',
  output: 'ffn.output',
  outputNorm: 'ffn_norm',
};

const CROSS_ATTENTION_NAMES: AttentionNames = {
  query: 'cross_attention.query',
  key: 'cross_attention.key',
  value: 'cross_attention.value',
  output: 'cross_attention.output',
};
const CROSS_NORM = 'cross_attention_norm';

const blockConfig = (c: SgddConfig): BlockConfig => ({ hidden: c.hidden_size, intermediate: c.intermediate_size, numHeads: c.num_attention_heads, eps: c.layer_norm_eps });

/** Every trainable tensor of the decoder by name, with its shape (the parameter count is their sum). */
export function sgddParameterShapes(c: SgddConfig): Map<string, number[]> {
  const [H, F, V] = [c.hidden_size, c.intermediate_size, c.vocab_size];
  const shapes = new Map<string, number[]>();
  const lin = (name: string, inF: number, outF: number) => shapes.set(`${name}.weight`, [outF, inF]).set(`${name}.bias`, [outF]);
  const ln = (name: string) => shapes.set(`${name}.weight`, [H]).set(`${name}.bias`, [H]);
  const attention = (names: AttentionNames) => [names.query, names.key, names.value, names.output].forEach((n) => lin(n, H, H));
  const M = c.memory_tokens;
  shapes.set(SGDD_WORD_EMBEDDINGS, [V, H]);
  if (c.absolute_positions) shapes.set(SGDD_POSITION_EMBEDDINGS, [c.max_length, H]);
  ln('embeddings.LayerNorm');
  lin('time_embedding.linear_1', H, H);
  lin('time_embedding.linear_2', H, H);
  lin(SGDD_SEMANTIC_PROJECTION, c.semantic_size, M * H);
  shapes.set(SGDD_NULL_MEMORY, [M * H]);
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const p = `layers.${i}.`;
    attention(prefixed(p, CROSS_ATTENTION_NAMES));
    ln(p + CROSS_NORM);
    attention(prefixed(p, SGDD_BLOCK_NAMES.attention));
    ln(p + SGDD_BLOCK_NAMES.attentionNorm);
    lin(p + SGDD_BLOCK_NAMES.intermediate, H, F);
    lin(p + SGDD_BLOCK_NAMES.output, F, H);
    ln(p + SGDD_BLOCK_NAMES.outputNorm);
  }
  ln('final_norm');
  shapes.set('output_bias', [V]);
  return shapes;
}

/** Why a BERT encoder's layers cannot start this decoder's blocks (`initBlocksFromEncoder`); empty when they can. */
function encoderBlockMismatch(c: SgddConfig, encoder: BertConfig): string[] {
  const problems: string[] = [];
  const same = (key: string, decoder: number, bert: number) => {
    if (decoder !== bert) problems.push(`${key} ${decoder} vs the encoder's ${bert}`);
  };
  same('hidden_size', c.hidden_size, encoder.hiddenSize);
  same('num_attention_heads', c.num_attention_heads, encoder.numAttentionHeads);
  same('intermediate_size', c.intermediate_size, encoder.intermediateSize);
  if (c.num_hidden_layers > encoder.numHiddenLayers) problems.push(`num_hidden_layers ${c.num_hidden_layers} > the encoder's ${encoder.numHiddenLayers}`);
  if (c.absolute_positions && c.max_length > encoder.maxPositionEmbeddings) problems.push(`max_length ${c.max_length} > the encoder's ${encoder.maxPositionEmbeddings} positions`);
  return problems;
}

/** Decoder tensor -> the BERT tensor (without the encoder's prefix) it copies; the LayerNorms by what they feed (`initBlocksFromEncoder`). */
function encoderBlockSources(c: SgddConfig): Map<string, string> {
  const sources = new Map<string, string>();
  const both = (target: string, source: string) => sources.set(`${target}.weight`, `${source}.weight`).set(`${target}.bias`, `${source}.bias`);
  const bertLayer = (i: number) => `encoder.layer.${i}.`;
  both('embeddings.LayerNorm', 'embeddings.LayerNorm');
  for (let i = 0; i < c.num_hidden_layers; i++) {
    const [p, b] = [`layers.${i}.`, bertLayer(i)];
    const [ours, bert] = [SGDD_BLOCK_NAMES, BERT_BLOCK_NAMES];
    for (const part of ['query', 'key', 'value', 'output'] as const) both(p + ours.attention[part], b + bert.attention[part]);
    both(p + ours.intermediate, b + bert.intermediate);
    both(p + ours.output, b + bert.output);
    both(p + ours.attentionNorm, i === 0 ? 'embeddings.LayerNorm' : bertLayer(i - 1) + bert.outputNorm);
    both(p + ours.outputNorm, b + bert.attentionNorm);
  }
  both('final_norm', bertLayer(c.num_hidden_layers - 1) + BERT_BLOCK_NAMES.outputNorm);
  return sources;
}

/**
 * The SGDD diffusion decoder, written once against `Ops`: token embeddings (tied to the output
 * projection) + learned absolute positions (`absolute_positions`) + an MLP of the sinusoidal
 * timestep embedding; then per layer (pre-LN) cross-attention from the tokens to the memory
 * (the semantic vector projected to `memory_tokens` tokens, or the learned null tokens),
 * bidirectional self-attention with RoPE (`rope`) and padding mask, GELU FFN; a final LayerNorm and the
 * tied output projection.
 */
export class SgddModel {
  constructor(
    readonly config: SgddConfig,
    readonly params: ParameterStore,
  ) {}

  /** Normal(0, initializer_range) weights, zero biases, LayerNorm (1, 0); zero [PAD] embedding. */
  static random(config: SgddConfig, rng: Rng): SgddModel {
    const c = config;
    const [H, std] = [c.hidden_size, c.initializer_range];
    const store = new ParameterStore();
    initEmbedding(store, 'embeddings.word_embeddings', c.vocab_size, H, std, rng, c.pad_token_id);
    initLayerNorm(store, 'embeddings.LayerNorm', H);
    initLinear(store, 'time_embedding.linear_1', H, H, std, rng);
    initLinear(store, 'time_embedding.linear_2', H, H, std, rng);
    initLinear(store, SGDD_SEMANTIC_PROJECTION, c.semantic_size, c.memory_tokens * H, std, rng);
    initNormal(store, SGDD_NULL_MEMORY, [c.memory_tokens * H], std, rng);
    // Drawn last so a legacy config (no positions) draws every other tensor as before.
    if (c.absolute_positions) initNormal(store, SGDD_POSITION_EMBEDDINGS, [c.max_length, H], std, rng);
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `layers.${i}.`;
      initAttention(store, prefixed(p, CROSS_ATTENTION_NAMES), H, std, rng);
      initLayerNorm(store, p + CROSS_NORM, H);
      initBlock(store, p, blockConfig(c), std, rng, SGDD_BLOCK_NAMES);
    }
    initLayerNorm(store, 'final_norm', H);
    initConstant(store, 'output_bias', [c.vocab_size], 0);
    return new SgddModel(config, store);
  }

  /**
   * Copies the encoder's word embeddings into the decoder's (tied) token embeddings: same
   * tokenizer, so the same rows; the widths must match (bge-small-zh: 512 = hidden_size).
   */
  initTokenEmbeddingsFrom(encoder: BertModel): void {
    const source = encoder.params.get(`${encoder.prefix}embeddings.word_embeddings.weight`);
    const want = [this.config.vocab_size, this.config.hidden_size];
    if (source.shape[0] !== want[0] || source.shape[1] !== want[1]) {
      throw new RangeError(`SgddModel.initTokenEmbeddingsFrom: encoder word embeddings are [${source.shape}], the decoder needs [${want}] (vocab_size, hidden_size)`);
    }
    this.params.get(SGDD_WORD_EMBEDDINGS).assign(tf.clone(source));
  }

  /**
   * Starts the decoder's self-attention blocks from a pretrained BERT encoder with the same block
   * shape (bge-small-zh: hidden 512, 8 heads, FFN 2048, 4 layers), at creation, before training.
   * Decoder layer i takes encoder layer i (the first num_hidden_layers of them): the decoder's
   * input is built like BERT's (the same word embeddings, positions, embedding LayerNorm), which
   * is what encoder layer 0 reads; the last N layers would start from a layer expecting another
   * layer's output. Q/K/V/O and the FFN copy as they are. The LayerNorms are mapped by what they
   * feed, not by name, because BERT is post-LN and this decoder pre-LN: a pre-LN norm normalizes
   * a sublayer's input, so it takes the BERT norm whose output that sublayer read (self-attention
   * of layer 0: the embedding LayerNorm; of layer i > 0: layer i−1's output LayerNorm; the FFN:
   * its layer's attention output LayerNorm; the final norm: the last copied layer's output
   * LayerNorm). Each sublayer then sees BERT-like inputs, though the residual stream between
   * them is not normalized as in BERT. With `absolute_positions` the first max_length rows of
   * BERT's position embeddings plus its token-type-0 row (BERT adds it to every token; the
   * decoder has no token types) become the decoder's positions; with the embedding LayerNorm,
   * always copied, tokens + positions are then BERT's embeddings exactly (the timestep MLP adds
   * to them before the norm).
   * Not copied, having no counterpart: cross-attention and its norm, the timestep MLP, the
   * semantic projection, the null memory, the output bias. With `rope` on, RoPE stays in
   * self-attention, where BERT's queries and keys were trained without it: the copied heads see
   * their scores rotated by the relative offset (`rope: false` keeps them as BERT had them).
   * Throws, copying nothing, when the shapes do not fit.
   */
  initBlocksFromEncoder(encoder: BertModel): void {
    const problems = encoderBlockMismatch(this.config, encoder.config);
    if (problems.length > 0) throw new RangeError(`SgddModel.initBlocksFromEncoder: the encoder's layers do not fit the decoder: ${problems.join('; ')}`);
    const copy = (target: string, source: string) => {
      const from = encoder.params.get(encoder.prefix + source);
      const want = this.params.shape(target);
      if (from.shape.length !== want.length || from.shape.some((d, i) => d !== want[i])) {
        throw new RangeError(`SgddModel.initBlocksFromEncoder: encoder tensor ${encoder.prefix + source} is [${from.shape}], the decoder's ${target} is [${want}]`);
      }
      this.params.get(target).assign(tf.clone(from));
    };
    for (const [target, source] of encoderBlockSources(this.config)) copy(target, source);
    if (this.config.absolute_positions) {
      const [L, H] = [this.config.max_length, this.config.hidden_size];
      const positions = encoder.params.get(`${encoder.prefix}embeddings.position_embeddings.weight`);
      const types = encoder.params.get(`${encoder.prefix}embeddings.token_type_embeddings.weight`);
      tf.tidy(() => this.params.get(SGDD_POSITION_EMBEDDINGS).assign(tf.add(tf.slice(positions, [0, 0], [L, H]), tf.slice(types, [0, 0], [1, H]))));
    }
  }

  /**
   * [B, E] semantic vectors and [B] condition flags -> the cross-attention memory [B, M, H]: the
   * vector projected to M = memory_tokens tokens, or the M learned null tokens where the flag is 0.
   * With M > 1 each position's cross-attention chooses among M keys; with one key its softmax is 1
   * and the block adds the same vector at every position.
   */
  condition<T>(ops: Ops<T>, semantic: T, condition: T): T {
    const [b] = ops.shape(semantic);
    const keep = ops.reshape(condition, [b, 1]);
    const projected = linear(ops, semantic, SGDD_SEMANTIC_PROJECTION);
    const mixed = ops.add(ops.mul(projected, keep), ops.mul(ops.param(SGDD_NULL_MEMORY), ops.sub(ops.scalar(1), keep)));
    return ops.reshape(mixed, [b, this.config.memory_tokens, this.config.hidden_size]);
  }

  /** Hidden states [B, L, H] after the final LayerNorm. */
  hidden<T>(ops: Ops<T>, inputs: SgddInputs<T>, options: { training?: { rng: Rng } } = {}): T {
    const c = this.config;
    const [b, len] = ops.shape(inputs.inputIds);
    if (typeof len === 'number' && len > c.max_length) throw new RangeError(`SgddModel.forward: input length ${len} exceeds max_length ${c.max_length}`);
    const dropout = options.training ? { hidden: c.dropout, attention: c.dropout, rng: options.training.rng } : undefined;
    const drop = (x: T) => (dropout ? ops.dropout(x, dropout.hidden, dropout.rng) : x);

    // 1. Tokens + positions + timestep: MLP(sinusoid(t)) added to every position.
    const table = ops.constant(sinusoidalTimestepTable(c.num_timesteps, c.hidden_size), [c.num_timesteps + 1, c.hidden_size]);
    const time = linear(ops, ops.gelu(linear(ops, ops.gather(table, inputs.timesteps), 'time_embedding.linear_1')), 'time_embedding.linear_2');
    let tokens = embedding(ops, inputs.inputIds, 'embeddings.word_embeddings');
    // Absolute positions: at high noise nearly every input is [MASK], so every value vector is the
    // same and attention (RoPE moves only the weights) cannot tell the positions apart.
    if (c.absolute_positions) tokens = ops.add(tokens, ops.reshape(ops.slice(ops.param(SGDD_POSITION_EMBEDDINGS), [0, 0], [len, -1]), [1, len, c.hidden_size]));
    // LayerNorm, as BERT's embeddings: the residual stream starts at unit scale, so the first
    // biases the blocks learn do not drown the 0.02-scale token embeddings.
    const embedded = ops.add(tokens, ops.reshape(time, [b, 1, c.hidden_size]));
    let h = drop(layerNorm(ops, embedded, 'embeddings.LayerNorm', c.layer_norm_eps));

    // 2. Layers: cross-attention to the condition, then self-attention (RoPE, no causal mask) + FFN.
    const memory = this.condition(ops, inputs.semantic, inputs.condition);
    const bias = paddingMaskBias(ops, inputs.attentionMask);
    const rope = c.rope ? ropeAngles(ops, len, c.hidden_size / c.num_attention_heads, { maxPositions: c.max_length, theta: c.rope_theta }) : undefined;
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const p = `layers.${i}.`;
      const cross = multiHeadAttention(ops, layerNorm(ops, h, p + CROSS_NORM, c.layer_norm_eps), prefixed(p, CROSS_ATTENTION_NAMES), {
        numHeads: c.num_attention_heads,
        keyValue: memory,
      });
      h = preLnBlock(ops, ops.add(h, drop(cross)), p, blockConfig(c), { bias, rope, dropout }, SGDD_BLOCK_NAMES);
    }
    return layerNorm(ops, h, 'final_norm', c.layer_norm_eps);
  }

  /** hidden [N, H] -> logits [N, V] through the tied token embeddings. */
  outputLogits<T>(ops: Ops<T>, hidden: T): T {
    return ops.add(ops.matMul(hidden, ops.transpose(ops.param(SGDD_WORD_EMBEDDINGS), [1, 0])), ops.param('output_bias'));
  }

  forward<T>(ops: Ops<T>, inputs: SgddInputs<T>, options: SgddForwardOptions<T> = {}): { logits?: T; fullLogits?: T } {
    const h = this.hidden(ops, inputs, options);
    const [b, len, hidden] = ops.shape(h);
    const flat = ops.reshape(h, [-1, hidden]);
    const out: { logits?: T; fullLogits?: T } = {};
    if (options.positions !== undefined) out.logits = this.outputLogits(ops, ops.gather(flat, options.positions));
    if (options.fullLogits) out.fullLogits = ops.reshape(this.outputLogits(ops, flat), [b, len, this.config.vocab_size]);
    return out;
  }

  /** A host batch as the forward's inputs, and its masked positions. */
  hostInputs<T>(ops: Ops<T>, batch: Omit<SgddHostBatch, 'labels' | 'targets'>): { inputs: SgddInputs<T>; positions: T } {
    const { batch: B, length: L } = batch;
    const inputs: SgddInputs<T> = {
      inputIds: ops.constant(batch.inputIds, [B, L], 'int32'),
      attentionMask: ops.constant(batch.attentionMask, [B, L], 'int32'),
      timesteps: ops.constant(batch.timesteps, [B], 'int32'),
      semantic: ops.constant(batch.semantic, [B, this.config.semantic_size]),
      condition: ops.constant(batch.condition, [B]),
    };
    return { inputs, positions: ops.constant(batch.positions, [batch.positions.length], 'int32') };
  }

  /** Mean cross-entropy over the masked positions of a host batch (the diffusion loss). */
  batchLoss<T>(ops: Ops<T>, batch: SgddHostBatch, options: { training?: { rng: Rng } } = {}): T {
    if (batch.positions.length === 0) throw new RangeError('SgddModel.batchLoss: the batch has no masked position');
    const { inputs, positions } = this.hostInputs(ops, batch);
    const { logits } = this.forward(ops, inputs, { positions, training: options.training });
    return ops.crossEntropy(logits as T, ops.constant(batch.targets, [batch.targets.length], 'int32'));
  }

  dispose(): void {
    this.params.dispose();
  }
}
