import type { Graph, GraphNode } from '../ops/graph-ops';

/**
 * The graph without its copying Identity nodes. An Identity whose output is not a graph output
 * is dropped and its readers read its input. An Identity that names a graph output (GraphOps.output
 * adds one per output) is dropped when its input is a node output that is neither a graph output
 * nor already renamed: that node then writes the output name itself. onnxruntime removes the
 * first kind but keeps the second as a kernel that copies whenever the value is also read inside
 * the graph (AdamW's new moments: one full copy of m and one of v per step).
 */
export function pruneIdentities(graph: Graph): Graph {
  const outputs = new Set(graph.outputs.map((o) => o.name));
  const produced = new Set(graph.nodes.filter((n) => n.op !== 'Identity').flatMap((n) => n.outputs));
  const rename = new Map<string, string>();
  const resolve = (name: string): string => {
    let r = name;
    while (rename.has(r)) r = rename.get(r)!;
    return r;
  };
  const dropped = new Set<GraphNode>();
  // 1. Identities inside the graph: readers read the input.
  for (const n of graph.nodes) {
    if (n.op === 'Identity' && !outputs.has(n.outputs[0])) {
      rename.set(n.outputs[0], n.inputs[0]);
      dropped.add(n);
    }
  }
  // 2. Identities naming a graph output: the producing node takes the output's name.
  for (const n of graph.nodes) {
    if (n.op !== 'Identity' || dropped.has(n)) continue;
    const source = resolve(n.inputs[0]);
    if (!produced.has(source) || outputs.has(source) || rename.has(source)) continue;
    rename.set(source, n.outputs[0]);
    dropped.add(n);
  }
  if (dropped.size === 0) return graph;
  const nodes = graph.nodes
    .filter((n) => !dropped.has(n))
    .map((n): GraphNode => ({ ...n, inputs: n.inputs.map(resolve), outputs: n.outputs.map(resolve) }));
  return { ...graph, nodes, valueInfo: graph.valueInfo.filter((v) => !rename.has(v.name)) };
}
