import type { Rng } from '@proj/core';
import { cachedSelfAttention, causalMaskBias, multiHeadAttention, paddingMaskBias, type AttentionNames, type KeyValueCache } from '../layers/attention';
import { embedding, initEmbedding } from '../layers/embedding';
import { initLinear, linear } from '../layers/linear';
import { moeFeedForward, type MoeNames } from '../layers/moe';
import { initRmsNorm, rmsNorm } from '../layers/rms-norm';
import { ropeAngles } from '../layers/rope';
import type { Ops } from '../ops/ops';
import { ParameterStore } from '../ops/parameter-store';
import { parseCausalLmConfig, type CausalLmConfig, type CausalLmConfigInput } from './config';

/** Parameter names of decoder block `i`, as Hugging Face's LlamaForCausalLM (and minimind) name them. */
function layerNames(i: number) {
  const p = `model.layers.${i}`;
  const attention: AttentionNames = { query: `${p}.self_attn.q_proj`, key: `${p}.self_attn.k_proj`, value: `${p}.self_attn.v_proj`, output: `${p}.self_attn.o_proj` };
  return { attention, inputNorm: `${p}.input_layernorm`, postNorm: `${p}.post_attention_layernorm`, gate: `${p}.mlp.gate_proj`, up: `${p}.mlp.up_proj`, down: `${p}.mlp.down_proj` };
}

/** Parameter prefixes of block `i`'s mixture-of-experts FFN, as minimind names them. */
function moeNames(i: number, config: CausalLmConfig): MoeNames {
  const p = `model.layers.${i}.mlp`;
  const shared = config.n_shared_experts === 1 ? [`${p}.shared_experts`] : Array.from({ length: config.n_shared_experts }, (_, s) => `${p}.shared_experts.${s}`);
  return { router: `${p}.gate`, experts: Array.from({ length: config.num_experts }, (_, e) => `${p}.experts.${e}`), shared };
}

/** Every parameter's name and shape for `config`, without allocating any (for counts and checks). */
export function causalLmParameterShapes(config: CausalLmConfig): Map<string, number[]> {
  const { hidden_size: h, intermediate_size: m, vocab_size: v, num_hidden_layers: layers } = config;
  const kv = (h / config.num_attention_heads) * config.num_key_value_heads;
  const shapes = new Map<string, number[]>([['model.embed_tokens.weight', [v, h]]]);
  for (let i = 0; i < layers; i++) {
    const n = layerNames(i);
    shapes.set(`${n.attention.query}.weight`, [h, h]);
    shapes.set(`${n.attention.key}.weight`, [kv, h]);
    shapes.set(`${n.attention.value}.weight`, [kv, h]);
    shapes.set(`${n.attention.output}.weight`, [h, h]);
    if (config.use_moe) {
      const moe = moeNames(i, config);
      shapes.set(`${moe.router}.weight`, [config.num_experts, h]);
      for (const e of [...moe.experts, ...moe.shared]) {
        shapes.set(`${e}.gate_proj.weight`, [config.moe_intermediate_size, h]);
        shapes.set(`${e}.up_proj.weight`, [config.moe_intermediate_size, h]);
        shapes.set(`${e}.down_proj.weight`, [h, config.moe_intermediate_size]);
      }
    } else {
      shapes.set(`${n.gate}.weight`, [m, h]);
      shapes.set(`${n.up}.weight`, [m, h]);
      shapes.set(`${n.down}.weight`, [h, m]);
    }
    shapes.set(`${n.inputNorm}.weight`, [h]);
    shapes.set(`${n.postNorm}.weight`, [h]);
  }
  shapes.set('model.norm.weight', [h]);
  if (!config.tie_word_embeddings) shapes.set('lm_head.weight', [v, h]);
  return shapes;
}

/** The mixture-of-experts side outputs of a forward pass (dense models: none). */
export interface MoeStats<T> {
  /** Per block, the unweighted balance term E · Σ_e f_e · P_e (scalar; 1 for uniform routing). */
  balance: T[];
  /** Per block, the share of routing slots each expert got, [num_experts]. */
  load: T[];
}

/** Per-step inputs of `CausalLm.forwardWithPast` (int32). */
export interface PastStepInputs<T> {
  /** [B, L]: the RoPE position of each new token. */
  positionIds: T;
  /** [B, past + L]: 1 for real tokens, 0 for padding, over every cached and new slot. */
  attentionMask: T;
}

/** The terms of `CausalLm.lossTerms`. */
export interface CausalLmLossTerms<T> {
  /** What training minimizes: lm + aux. */
  loss: T;
  /** Mean next-token cross-entropy. */
  lm: T;
  /** router_aux_loss_coef · Σ over blocks of the balance term; a scalar 0 for dense models. */
  aux: T;
  /** Expert load per block, [layers, num_experts] (MoE only), for logging. */
  expertLoad?: T;
}

/** What a MoE model's training steps log beside their loss (`CausalLm.lossAndMetrics`), in log order. */
export const MOE_TRAIN_METRICS = ['lm_loss', 'aux_loss', 'max_expert_load'] as const;

/**
 * The scalars of `MOE_TRAIN_METRICS` from a MoE model's `lossTerms`: `lm_loss` (the cross-entropy
 * alone, what dev `loss` reports), `aux_loss` (the weighted balance term) and `max_expert_load`
 * (the largest share of routing slots any expert got, mean over blocks; 1 / num_experts is even).
 * Training steps and dev evaluation both take them from here.
 */
export function moeLossMetrics<T>(ops: Ops<T>, terms: CausalLmLossTerms<T>): Record<(typeof MOE_TRAIN_METRICS)[number], T> {
  if (terms.expertLoad === undefined) throw new TypeError('moeLossMetrics: the loss terms have no expert load (a dense model)');
  return { lm_loss: terms.lm, aux_loss: terms.aux, max_expert_load: ops.mean(ops.max(terms.expertLoad, [1]), [0]) };
}

export interface CausalLmForwardOptions {
  /** Position of the first token (for RoPE), e.g. the cached length when decoding. Default 0. */
  offset?: number;
  /**
   * Longest sequence a recorded graph (symbolic length) accepts: the causal-mask square is cut
   * from one of this size. Eager runs use the actual length.
   */
  maxLength?: number;
}

/**
 * A decoder-only transformer in Llama's layout, written once against `Ops`: token embedding →
 * N × [RMSNorm → grouped-query self-attention with RoPE and a causal mask → residual → RMSNorm →
 * SwiGLU (down(silu(gate(x)) · up(x))) → residual] → RMSNorm → logits through the tied embedding.
 * Parameters carry Hugging Face LlamaForCausalLM names.
 */
export class CausalLm {
  constructor(
    readonly config: CausalLmConfig,
    readonly params: ParameterStore,
  ) {}

  /** Random weights: normal(0, initializer_range) for matrices and embeddings, 1 for norms (as HF). */
  static random(configInput: CausalLmConfigInput | CausalLmConfig, rng: Rng): CausalLm {
    const config = parseCausalLmConfig(configInput, 'CausalLm.random');
    const store = new ParameterStore();
    const std = config.initializer_range;
    for (const [name, shape] of causalLmParameterShapes(config)) {
      const prefix = name.slice(0, -'.weight'.length);
      if (shape.length === 1) initRmsNorm(store, prefix, shape[0]);
      else if (name === 'model.embed_tokens.weight') initEmbedding(store, prefix, shape[0], shape[1], std, rng);
      else initLinear(store, prefix, shape[1], shape[0], std, rng, false);
    }
    return new CausalLm(config, store);
  }

  /** Number of scalar parameters (the tied lm_head counted once). */
  parameterCount(): number {
    return this.params.count();
  }

  /** Final hidden states [B, L, hidden] of int32 ids [B, L]. */
  hidden<T>(ops: Ops<T>, inputIds: T, options: CausalLmForwardOptions = {}): T {
    return this.decode(ops, inputIds, options, undefined).hidden;
  }

  /** Final hidden states and, for a MoE model, each block's balance term and expert load. */
  hiddenWithStats<T>(ops: Ops<T>, inputIds: T, options: CausalLmForwardOptions = {}): { hidden: T; moe: MoeStats<T> } {
    const { hidden, moe } = this.decode(ops, inputIds, options, undefined);
    return { hidden, moe };
  }

  /**
   * Incremental decoding: logits [B, L, vocab] of the new ids [B, L] given the cache of the earlier
   * positions (`past`, one entry per layer; none on the first call), and the cache extended by them.
   */
  forwardWithCache<T>(ops: Ops<T>, inputIds: T, past?: KeyValueCache<T>[]): { logits: T; present: KeyValueCache<T>[] } {
    if (past !== undefined && past.length !== this.config.num_hidden_layers) {
      throw new RangeError(`CausalLm.forwardWithCache: past has ${past.length} layers, the model ${this.config.num_hidden_layers}`);
    }
    const [b, l] = ops.shape(inputIds);
    const { hidden, present } = this.decode(ops, inputIds, {}, { past });
    const logits = ops.reshape(this.logits2d(ops, ops.reshape(hidden, [-1, this.config.hidden_size])), [b, l, this.config.vocab_size]);
    return { logits, present };
  }

  /** The decoder stack; with `cache`, attention also reads and returns per-layer keys / values. */
  private decode<T>(ops: Ops<T>, inputIds: T, options: CausalLmForwardOptions, cache: { past?: KeyValueCache<T>[]; step?: PastStepInputs<T> } | undefined): { hidden: T; present: KeyValueCache<T>[]; moe: MoeStats<T> } {
    const c = this.config;
    const length = ops.shape(inputIds)[1];
    const headDim = c.hidden_size / c.num_attention_heads;
    const past = cache?.past;
    const step = cache?.step;
    const pastLength = past === undefined ? 0 : ops.shape(past[0].key)[2];
    if (typeof pastLength !== 'number' && step === undefined) throw new RangeError('CausalLm: the cached length must be known');
    // The mask square: the sequence length, or maxLength for a graph (a max_position_embeddings square would not fit).
    const maskSize = typeof length === 'number' ? length : options.maxLength;
    if (maskSize === undefined) throw new RangeError('CausalLm.hidden: a symbolic sequence length needs options.maxLength');
    const offset = past === undefined ? options.offset : (pastLength as number);
    const rope = ropeAngles(ops, length, headDim, { maxPositions: c.max_position_embeddings, theta: c.rope_theta, offset, positions: step?.positionIds });
    let bias: T | undefined;
    if (step !== undefined) bias = this.stepBias(ops, inputIds, step.attentionMask, options.maxLength ?? c.max_position_embeddings);
    else if (pastLength === 0) bias = causalMaskBias(ops, length, maskSize);
    else if (length !== 1) {
      // New position i (absolute pastLength + i) sees every cached position and new ones j <= i.
      const l = length as number;
      const p = pastLength as number;
      const values = new Float32Array(l * (p + l));
      for (let i = 0; i < l; i++) for (let j = p + i + 1; j < p + l; j++) values[i * (p + l) + j] = -1e9;
      bias = ops.constant(values, [1, 1, l, p + l]);
    }
    const present: KeyValueCache<T>[] = [];
    const moe: MoeStats<T> = { balance: [], load: [] };
    let h = embedding(ops, inputIds, 'model.embed_tokens');
    for (let i = 0; i < c.num_hidden_layers; i++) {
      const n = layerNames(i);
      const x = rmsNorm(ops, h, n.inputNorm, c.rms_norm_eps);
      const attentionOptions = { numHeads: c.num_attention_heads, numKvHeads: c.num_key_value_heads, projectionBias: false, rope, bias };
      let attended: T;
      if (cache === undefined) attended = multiHeadAttention(ops, x, n.attention, attentionOptions);
      else {
        const step = cachedSelfAttention(ops, x, n.attention, attentionOptions, past?.[i]);
        attended = step.output;
        present.push(step.present);
      }
      h = ops.add(h, attended);
      const y = rmsNorm(ops, h, n.postNorm, c.rms_norm_eps);
      if (c.use_moe) {
        const experts = moeFeedForward(ops, y, moeNames(i, c), { topK: c.num_experts_per_tok, normTopKProb: c.norm_topk_prob });
        moe.balance.push(experts.balance);
        moe.load.push(experts.load);
        h = ops.add(h, experts.output);
      } else {
        const gate = linear(ops, y, n.gate, false);
        const silu = ops.mul(gate, ops.sigmoid(gate));
        h = ops.add(h, linear(ops, ops.mul(silu, linear(ops, y, n.up, false)), n.down, false));
      }
    }
    return { hidden: rmsNorm(ops, h, 'model.norm', c.rms_norm_eps), present, moe };
  }

  /**
   * One step of a KV-cache decoder in the layout of Hugging Face / optimum decoder exports: new ids
   * [B, L], their `positionIds` [B, L] (RoPE positions: a left-padded row starts at 0 after its
   * padding), an `attentionMask` [B, past + L] over every cached and new slot (1 = a real token,
   * 0 = padding), and `past` (per layer, [B, kvHeads, past, headDim]; omit or give length 0 on
   * the first step). Returns logits [B, L, vocab] and the cache extended by the new slots. Slot j
   * is visible from new slot past + i when j <= past + i and the mask is 1 at j. The slot count
   * past + L must be <= `maxLength` (default max_position_embeddings).
   */
  forwardWithPast<T>(ops: Ops<T>, inputIds: T, inputs: PastStepInputs<T> & { past?: KeyValueCache<T>[]; maxLength?: number }): { logits: T; present: KeyValueCache<T>[] } {
    const { past, maxLength = this.config.max_position_embeddings } = inputs;
    if (past !== undefined && past.length !== this.config.num_hidden_layers) {
      throw new RangeError(`CausalLm.forwardWithPast: past has ${past.length} layers, the model ${this.config.num_hidden_layers}`);
    }
    const [b, l] = ops.shape(inputIds);
    const { hidden, present } = this.decode(ops, inputIds, { maxLength }, { past, step: inputs });
    const logits = ops.reshape(this.logits2d(ops, ops.reshape(hidden, [-1, this.config.hidden_size])), [b, l, this.config.vocab_size]);
    return { logits, present };
  }

  /**
   * Additive bias [B, 1, L, slots] for `forwardWithPast`: causal over cache slots (key slot j <=
   * query slot past + i, written as j - i <= slots - L so no slot count is needed as a number)
   * plus -1e9 at padding. Slot counts come from sums of ones, so they stay run-time values in a
   * recorded graph; float32 holds them exactly.
   */
  private stepBias<T>(ops: Ops<T>, inputIds: T, attentionMask: T, maxLength: number): T {
    const [b, l] = ops.shape(inputIds);
    const slots = ops.shape(attentionMask)[1];
    const count = (t: T) => ops.sum(ops.add(ops.mul(ops.cast(t, 'float32'), ops.scalar(0)), ops.scalar(1)), [1], true); // [B, 1]
    const pastLength = ops.reshape(ops.sub(count(attentionMask), count(inputIds)), [b, 1, 1, 1]);
    const size = typeof slots === 'number' ? slots : maxLength; // eager runs know the slot count
    const arange = ops.constant(Float32Array.from({ length: size }, (_, i) => i), [size]);
    const keySlot = ops.reshape(ops.slice(arange, [0], [slots]), [1, 1, 1, slots]);
    const querySlot = ops.add(ops.reshape(ops.slice(arange, [0], [l]), [1, 1, l, 1]), pastLength); // [B, 1, L, 1]
    const visible = ops.equal(ops.maximum(keySlot, querySlot), querySlot);
    return ops.add(ops.where(visible, ops.scalar(0), ops.scalar(-1e9)), paddingMaskBias(ops, attentionMask));
  }

  /** Next-token logits [B, L, vocab]. */
  forward<T>(ops: Ops<T>, inputIds: T, options: CausalLmForwardOptions = {}): T {
    const [b, l] = ops.shape(inputIds);
    const h = this.hidden(ops, inputIds, options);
    return ops.reshape(this.logits2d(ops, ops.reshape(h, [-1, this.config.hidden_size])), [b, l, this.config.vocab_size]);
  }

  /**
   * Mean next-token cross-entropy: logits at every position of `inputIds` [B, L] against
   * `targets` [B, L] (the ids shifted by one; `ignoreIndex` positions skipped), through
   * `ops.crossEntropy`, which builds no [B·L, vocab] one-hot.
   */
  loss<T>(ops: Ops<T>, inputIds: T, targets: T, ignoreIndex = -100): T {
    return this.lossTerms(ops, inputIds, targets, ignoreIndex).loss;
  }

  /**
   * `loss` and its parts: the LM cross-entropy, the MoE load-balancing term (router_aux_loss_coef
   * times the sum over blocks of E · Σ_e f_e · P_e, as Switch Transformer and minimind) and the
   * expert load per block. Dev evaluation logs them (`aux_loss`, `max_expert_load` of
   * createCausalLmTask's `evaluate`), training steps through `lossAndMetrics`.
   */
  lossTerms<T>(ops: Ops<T>, inputIds: T, targets: T, ignoreIndex = -100): CausalLmLossTerms<T> {
    const { hidden, moe } = this.decode(ops, inputIds, {}, undefined);
    const logits = this.logits2d(ops, ops.reshape(hidden, [-1, this.config.hidden_size]));
    // crossEntropy picks each target's log-probability by index on both engines (no one-hot).
    const lm = ops.crossEntropy(logits, ops.reshape(targets, [-1]), ignoreIndex);
    if (!this.config.use_moe) return { loss: lm, lm, aux: ops.scalar(0) };
    const balance = moe.balance.reduce((sum, t) => ops.add(sum, t));
    const aux = ops.mul(balance, ops.scalar(this.config.router_aux_loss_coef));
    const expertLoad = ops.concat(moe.load.map((t) => ops.reshape(t, [1, this.config.num_experts])), 0);
    return { loss: this.config.router_aux_loss_coef > 0 ? ops.add(lm, aux) : lm, lm, aux, expertLoad };
  }

  /** The names `lossAndMetrics` reports: `MOE_TRAIN_METRICS` for a MoE model, none for a dense one. */
  get trainMetricNames(): readonly string[] {
    return this.config.use_moe ? MOE_TRAIN_METRICS : [];
  }

  /**
   * `loss` and, for a MoE model, the scalars a training step logs beside it (`moeLossMetrics`),
   * from one forward pass: the task's `trainMetrics` on either engine.
   */
  lossAndMetrics<T>(ops: Ops<T>, inputIds: T, targets: T, ignoreIndex = -100): { loss: T; metrics: Record<string, T> } {
    const terms = this.lossTerms(ops, inputIds, targets, ignoreIndex);
    return { loss: terms.loss, metrics: this.config.use_moe ? moeLossMetrics(ops, terms) : {} };
  }

  dispose(): void {
    this.params.dispose();
  }

  /** hidden [N, H] → logits [N, vocab] through lm_head (the embedding matrix when tied). */
  private logits2d<T>(ops: Ops<T>, hidden2d: T): T {
    const head = this.config.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    return ops.matMul(hidden2d, ops.transpose(ops.param(head), [1, 0]));
  }
}
