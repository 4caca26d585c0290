import { GraphOps, type Graph } from '../ops/graph-ops';
import { graphToOnnx } from '../onnx/serialize';
import type { CausalLm } from './model';

export interface CausalLmOnnxOptions {
  /** Longest sequence the graph accepts (the causal-mask square). Default 512, capped by max_position_embeddings. */
  maxLength?: number;
  /** Default-domain opset (>= 17). */
  opset?: number;
  /**
   * Record a KV-cache decoder step in the layout of Hugging Face / optimum decoder exports
   * (`recordCausalLmWithPast`) instead of the plain forward. Default false.
   */
  kvCache?: boolean;
}

function maxLengthOf(model: CausalLm, options: CausalLmOnnxOptions): number {
  return Math.min(options.maxLength ?? 512, model.config.max_position_embeddings);
}

/** The recorded forward: int ids `input_ids` [batch, seq] → `logits` [batch, seq, vocab]; with `kvCache`, `recordCausalLmWithPast`. */
export function recordCausalLm(model: CausalLm, options: CausalLmOnnxOptions = {}): Graph {
  if (options.kvCache) return recordCausalLmWithPast(model, options);
  const g = new GraphOps(model.params);
  const logits = model.forward(g, g.input('input_ids', 'int32', ['batch', 'seq']), { maxLength: maxLengthOf(model, options) });
  g.output(logits, 'logits');
  return g.toGraph();
}

/**
 * A decoder step with past keys / values, as optimum exports Llama decoders (`CausalLm.forwardWithPast`):
 * inputs `input_ids` [batch, seq], `attention_mask` [batch, past_seq+seq] (1 = token, 0 = padding,
 * over cached and new slots), `position_ids` [batch, seq] (int64), then per layer i
 * `past_key_values.<i>.key` / `.value` [batch, kv_heads, past_seq, head_dim] (float32; past_seq 0
 * on the first step); outputs `logits` [batch, seq, vocab] and `present.<i>.key` / `.value`
 * [batch, kv_heads, past_seq+seq, head_dim] (keys after RoPE), fed back as the next step's past.
 */
export function recordCausalLmWithPast(model: CausalLm, options: CausalLmOnnxOptions = {}): Graph {
  const c = model.config;
  const headDim = c.hidden_size / c.num_attention_heads;
  const g = new GraphOps(model.params);
  const inputIds = g.input('input_ids', 'int32', ['batch', 'seq']);
  const attentionMask = g.input('attention_mask', 'int32', ['batch', 'past_seq+seq']);
  const positionIds = g.input('position_ids', 'int32', ['batch', 'seq']);
  const past = Array.from({ length: c.num_hidden_layers }, (_, i) => ({
    key: g.input(`past_key_values.${i}.key`, 'float32', ['batch', c.num_key_value_heads, 'past_seq', headDim]),
    value: g.input(`past_key_values.${i}.value`, 'float32', ['batch', c.num_key_value_heads, 'past_seq', headDim]),
  }));
  const { logits, present } = model.forwardWithPast(g, inputIds, { positionIds, attentionMask, past, maxLength: maxLengthOf(model, options) });
  g.output(logits, 'logits');
  present.forEach((kv, i) => {
    g.output(kv.key, `present.${i}.key`);
    g.output(kv.value, `present.${i}.value`);
  });
  return g.toGraph();
}

/** ONNX bytes of `recordCausalLm` with the model's weights as initializers. */
export async function causalLmToOnnx(model: CausalLm, options: CausalLmOnnxOptions = {}): Promise<Uint8Array> {
  const graph = recordCausalLm(model, options);
  const values = new Map<string, Float32Array>();
  for (const init of graph.initializers) if (init.kind === 'parameter') values.set(init.name, await model.params.toFloat32(init.name));
  return graphToOnnx(graph, { opset: options.opset, graphName: 'causal_lm', parameters: (name) => values.get(name)! });
}
