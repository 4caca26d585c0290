import type { Graph } from '../ops/graph-ops';

/**
 * The graph without the nodes no graph output depends on. onnxruntime runs every node it is
 * given, read or not; a rule that rewrites a product it already recorded (the Transpose rule of
 * a tied projection) leaves the first form unread.
 */
export function withoutDeadNodes(graph: Graph): Graph {
  const needed = new Set(graph.outputs.map((o) => o.name));
  const keep = new Array<boolean>(graph.nodes.length).fill(false);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k];
    if (!n.outputs.some((o) => needed.has(o))) continue;
    keep[k] = true;
    for (const i of n.inputs) needed.add(i);
  }
  if (keep.every(Boolean)) return graph;
  const nodes = graph.nodes.filter((_, k) => keep[k]);
  const produced = new Set(nodes.flatMap((n) => n.outputs));
  // Initializers only dead nodes read go too (onnxruntime would warn about each).
  const read = new Set([...nodes.flatMap((n) => n.inputs), ...graph.outputs.map((o) => o.name)]);
  return { ...graph, nodes, initializers: graph.initializers.filter((i) => read.has(i.name)), valueInfo: graph.valueInfo.filter((v) => produced.has(v.name)) };
}
