import type { Rng } from '@proj/core';
import type { Dim, Ops } from '../ops/ops';
import { ParameterStore } from '../ops/parameter-store';
import { paddingMaskBias } from '../layers/attention';
import { embedding, initEmbedding } from '../layers/embedding';
import { initConstant } from '../layers/init';
import { initLayerNorm, layerNorm } from '../layers/layer-norm';
import { initLinear, linear } from '../layers/linear';
import { initBlock, postLnBlock, type BlockConfig } from '../layers/transformer-block';
import type { BertConfig } from './config';

/** Model inputs: ids [B, L] int32; mask [B, L] (1 = token, 0 = padding); token types [B, L] int32. */
export interface BertInputs<T> {
  inputIds: T;
  attentionMask?: T;
  tokenTypeIds?: T;
  /** int32 [B, L]; absent = positions 0..L-1 in every row. */
  positionIds?: T;
}

export interface BertForwardOptions {
  /** Training mode: dropout on, masks drawn from this seeded RNG. Omit for inference (eval mode). */
  training?: { rng: Rng };
}

/**
 * Hugging Face tensor names and shapes of a BERT with this config. `prefix` is 'bert.' inside
 * BertForMaskedLM and '' for a bare BertModel checkpoint.
 */
export function bertParameterShapes(cfg: BertConfig, options: { prefix?: string; mlmHead?: boolean; pooler?: boolean } = {}): Map<string, number[]> {
  const { prefix = 'bert.', mlmHead = true, pooler = false } = options;
  const h = cfg.hiddenSize;
  const shapes = new Map<string, number[]>();
  const lin = (name: string, inF: number, outF: number) => {
    shapes.set(`${name}.weight`, [outF, inF]);
    shapes.set(`${name}.bias`, [outF]);
  };
  const ln = (name: string) => {
    shapes.set(`${name}.weight`, [h]);
    shapes.set(`${name}.bias`, [h]);
  };
  shapes.set(`${prefix}embeddings.word_embeddings.weight`, [cfg.vocabSize, h]);
  shapes.set(`${prefix}embeddings.position_embeddings.weight`, [cfg.maxPositionEmbeddings, h]);
  shapes.set(`${prefix}embeddings.token_type_embeddings.weight`, [cfg.typeVocabSize, h]);
  ln(`${prefix}embeddings.LayerNorm`);
  for (let i = 0; i < cfg.numHiddenLayers; i++) {
    const p = `${prefix}encoder.layer.${i}.`;
    for (const n of ['query', 'key', 'value']) lin(`${p}attention.self.${n}`, h, h);
    lin(`${p}attention.output.dense`, h, h);
    ln(`${p}attention.output.LayerNorm`);
    lin(`${p}intermediate.dense`, h, cfg.intermediateSize);
    lin(`${p}output.dense`, cfg.intermediateSize, h);
    ln(`${p}output.LayerNorm`);
  }
  if (pooler) lin(`${prefix}pooler.dense`, h, h);
  if (mlmHead) {
    lin('cls.predictions.transform.dense', h, h);
    ln('cls.predictions.transform.LayerNorm');
    shapes.set('cls.predictions.bias', [cfg.vocabSize]);
  }
  return shapes;
}

function blockConfig(cfg: BertConfig): BlockConfig {
  return { hidden: cfg.hiddenSize, intermediate: cfg.intermediateSize, numHeads: cfg.numAttentionHeads, eps: cfg.layerNormEps };
}

/** Random init as HF `BertPreTrainedModel._init_weights`: normal(0, initializer_range), zero biases, LayerNorm (1, 0). */
function initBert(store: ParameterStore, cfg: BertConfig, rng: Rng, prefix: string, pooler: boolean): void {
  const std = cfg.initializerRange;
  const h = cfg.hiddenSize;
  initEmbedding(store, `${prefix}embeddings.word_embeddings`, cfg.vocabSize, h, std, rng, cfg.padTokenId);
  initEmbedding(store, `${prefix}embeddings.position_embeddings`, cfg.maxPositionEmbeddings, h, std, rng);
  initEmbedding(store, `${prefix}embeddings.token_type_embeddings`, cfg.typeVocabSize, h, std, rng);
  initLayerNorm(store, `${prefix}embeddings.LayerNorm`, h);
  for (let i = 0; i < cfg.numHiddenLayers; i++) initBlock(store, `${prefix}encoder.layer.${i}.`, blockConfig(cfg), std, rng);
  if (pooler) initLinear(store, `${prefix}pooler.dense`, h, h, std, rng);
}

/**
 * The position embeddings of `inputs`: rows `positionIds` [B, L, H] when given, else the first L
 * rows of the table ([L, H], broadcast over the batch).
 */
export function positionEmbeddings<T>(ops: Ops<T>, inputs: BertInputs<T>, table: string, len: Dim): T {
  if (inputs.positionIds !== undefined) return ops.gather(ops.param(table), inputs.positionIds);
  return ops.slice(ops.param(table), [0, 0], [len, -1]);
}

/** BERT encoder: embeddings (word + position + token type -> LayerNorm) and post-LN layers; optional pooler. */
export class BertModel {
  constructor(
    readonly config: BertConfig,
    readonly params: ParameterStore,
    /** Tensor-name prefix: 'bert.' inside BertForMaskedLM, '' for a bare BertModel. */
    readonly prefix = '',
  ) {}

  static random(config: BertConfig, rng: Rng, options: { pooler?: boolean } = {}): BertModel {
    const store = new ParameterStore();
    initBert(store, config, rng, '', options.pooler ?? true);
    return new BertModel(config, store, '');
  }

  get hasPooler(): boolean {
    return this.params.has(`${this.prefix}pooler.dense.weight`);
  }

  embed<T>(ops: Ops<T>, inputs: BertInputs<T>, options: BertForwardOptions = {}): T {
    const p = `${this.prefix}embeddings.`;
    const [, len] = ops.shape(inputs.inputIds);
    if (typeof len === 'number' && len > this.config.maxPositionEmbeddings) {
      throw new RangeError(`BertModel.forward: input length ${len} exceeds max_position_embeddings ${this.config.maxPositionEmbeddings}`);
    }
    const words = embedding(ops, inputs.inputIds, `${p}word_embeddings`);
    const positions = positionEmbeddings(ops, inputs, `${p}position_embeddings.weight`, len);
    // Without token types every token is type 0, as in HF.
    const types = inputs.tokenTypeIds !== undefined
      ? embedding(ops, inputs.tokenTypeIds, `${p}token_type_embeddings`)
      : ops.slice(ops.param(`${p}token_type_embeddings.weight`), [0, 0], [1, -1]);
    const sum = ops.add(ops.add(words, positions), types);
    const normed = layerNorm(ops, sum, `${p}LayerNorm`, this.config.layerNormEps);
    return options.training ? ops.dropout(normed, this.config.hiddenDropoutProb, options.training.rng) : normed;
  }

  forward<T>(ops: Ops<T>, inputs: BertInputs<T>, options: BertForwardOptions & { pooled?: boolean } = {}): { lastHiddenState: T; pooledOutput?: T } {
    const cfg = this.config;
    const bias = inputs.attentionMask !== undefined ? paddingMaskBias(ops, inputs.attentionMask) : undefined;
    const dropout = options.training
      ? { hidden: cfg.hiddenDropoutProb, attention: cfg.attentionProbsDropoutProb, rng: options.training.rng }
      : undefined;
    let h = this.embed(ops, inputs, options);
    for (let i = 0; i < cfg.numHiddenLayers; i++) h = postLnBlock(ops, h, `${this.prefix}encoder.layer.${i}.`, blockConfig(cfg), { bias, dropout });
    if (!options.pooled) return { lastHiddenState: h };
    if (!this.hasPooler) throw new Error(`BertModel.forward: pooled output requested but the model has no ${this.prefix}pooler.dense weights`);
    // Pooler: tanh(dense(hidden state of the first token)).
    const [b, , hidden] = ops.shape(h);
    const first = ops.reshape(ops.slice(h, [0, 0, 0], [b, 1, hidden]), [b, hidden]);
    return { lastHiddenState: h, pooledOutput: ops.tanh(linear(ops, first, `${this.prefix}pooler.dense`)) };
  }

  dispose(): void {
    this.params.dispose();
  }
}

export interface MaskedLMOptions<T> extends BertForwardOptions {
  /** Flat indices b * L + i (int32 [N]) where MLM logits are wanted: logits are [N, vocab]. */
  positions?: T;
  /** Also return logits at every position, [B, L, vocab] (memory: B*L*vocab floats). */
  fullLogits?: boolean;
}

/**
 * BertForMaskedLM: BERT + prediction head (dense -> gelu -> LayerNorm -> decoder tied to the word
 * embeddings + bias). Logits are computed only at the requested positions: the hidden states are
 * gathered first, so full [B, L, vocab] logits (the largest tensor in MLM training) exist only
 * when asked for.
 */
export class BertForMaskedLM {
  readonly bert: BertModel;

  constructor(
    readonly config: BertConfig,
    readonly params: ParameterStore,
  ) {
    this.bert = new BertModel(config, params, 'bert.');
  }

  static random(config: BertConfig, rng: Rng): BertForMaskedLM {
    const store = new ParameterStore();
    initBert(store, config, rng, 'bert.', false);
    initLinear(store, 'cls.predictions.transform.dense', config.hiddenSize, config.hiddenSize, config.initializerRange, rng);
    initLayerNorm(store, 'cls.predictions.transform.LayerNorm', config.hiddenSize);
    initConstant(store, 'cls.predictions.bias', [config.vocabSize], 0);
    return new BertForMaskedLM(config, store);
  }

  /** hidden [N, H] -> logits [N, vocab]. */
  predictionHead<T>(ops: Ops<T>, hidden: T): T {
    const t = layerNorm(ops, ops.gelu(linear(ops, hidden, 'cls.predictions.transform.dense')), 'cls.predictions.transform.LayerNorm', this.config.layerNormEps);
    const decoder = ops.transpose(ops.param('bert.embeddings.word_embeddings.weight'), [1, 0]);
    return ops.add(ops.matMul(t, decoder), ops.param('cls.predictions.bias'));
  }

  forward<T>(ops: Ops<T>, inputs: BertInputs<T>, options: MaskedLMOptions<T> = {}): { lastHiddenState: T; logits?: T; fullLogits?: T } {
    const { lastHiddenState } = this.bert.forward(ops, inputs, options);
    const [b, len, hidden] = ops.shape(lastHiddenState);
    const flat = ops.reshape(lastHiddenState, [-1, hidden]);
    const out: { lastHiddenState: T; logits?: T; fullLogits?: T } = { lastHiddenState };
    if (options.positions !== undefined) out.logits = this.predictionHead(ops, ops.gather(flat, options.positions));
    if (options.fullLogits) out.fullLogits = ops.reshape(this.predictionHead(ops, flat), [b, len, this.config.vocabSize]);
    return out;
  }

  /** Mean MLM cross-entropy at `positions` against `labels` (int32 [N]; ignoreIndex entries skipped). */
  loss<T>(ops: Ops<T>, inputs: BertInputs<T>, positions: T, labels: T, options: BertForwardOptions & { ignoreIndex?: number } = {}): T {
    const { logits } = this.forward(ops, inputs, { ...options, positions });
    return ops.crossEntropy(logits as T, labels, options.ignoreIndex ?? -100);
  }

  dispose(): void {
    this.params.dispose();
  }
}

/** Flat MLM positions (b * L + i) from (batch, position) pairs, for `MaskedLMOptions.positions`. */
export function flatPositions(pairs: readonly (readonly [number, number])[], seqLen: number): Int32Array {
  return Int32Array.from(pairs, ([b, i]) => {
    if (i < 0 || i >= seqLen) throw new RangeError(`flatPositions: position ${i} outside [0, ${seqLen})`);
    return b * seqLen + i;
  });
}
