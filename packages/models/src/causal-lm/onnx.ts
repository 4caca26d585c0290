import { GraphOps, type Graph } from '../ops/graph-ops';
import { graphToOnnx } from '../onnx/serialize';
import type { CausalLm } from './model';

export interface CausalLmOnnxOptions {
  /** Longest sequence the graph accepts (the causal-mask square). Default 512, capped by max_position_embeddings. */
  maxLength?: number;
  /** Default-domain opset (>= 17). */
  opset?: number;
}

function maxLengthOf(model: CausalLm, options: CausalLmOnnxOptions): number {
  return Math.min(options.maxLength ?? 512, model.config.max_position_embeddings);
}

/** The recorded forward: int ids `input_ids` [batch, seq] → `logits` [batch, seq, vocab] (no KV cache yet). */
export function recordCausalLm(model: CausalLm, options: CausalLmOnnxOptions = {}): Graph {
  const g = new GraphOps(model.params);
  const logits = model.forward(g, g.input('input_ids', 'int32', ['batch', 'seq']), { maxLength: maxLengthOf(model, options) });
  g.output(logits, 'logits');
  return g.toGraph();
}

/** ONNX bytes of `recordCausalLm` with the model's weights as initializers. */
export async function causalLmToOnnx(model: CausalLm, options: CausalLmOnnxOptions = {}): Promise<Uint8Array> {
  const graph = recordCausalLm(model, options);
  const values = new Map<string, Float32Array>();
  for (const init of graph.initializers) if (init.kind === 'parameter') values.set(init.name, await model.params.toFloat32(init.name));
  return graphToOnnx(graph, { opset: options.opset, graphName: 'causal_lm', parameters: (name) => values.get(name)! });
}
