import { GraphOps, type Graph, type GraphNode, type GraphValue } from '../ops/graph-ops';
import { withoutDeadNodes } from './dead-nodes';
import { VJP_RULES } from './rules';

export interface GradientOptions {
  /** Name of the scalar float32 loss value. */
  loss: string;
  /** Values to differentiate with respect to: float32 graph inputs or parameter initializers. */
  wrt: readonly string[];
  /** Graph output name of each gradient (default `grad.<name>`). */
  gradientName?: (name: string) => string;
  /** Prefix of every backward node and value name (default 'grad/'). */
  namePrefix?: string;
  /** Whether each gradient becomes a graph output (default true; a training step consumes them inside the graph). */
  asOutputs?: boolean;
}

export interface GradientGraph {
  /** The forward graph with the backward nodes appended and one output per gradient (after the existing outputs). */
  graph: Graph;
  /** Output name of each gradient, by the name it differentiates (empty without `asOutputs`). */
  gradients: Map<string, string>;
  /** The gradient values themselves, by the name they differentiate. */
  values: Map<string, GraphValue>;
}

const NO_PARAMETERS = { has: () => false, shape: (name: string): number[] => { throw new Error(`appendGradients: no parameter store (asked for '${name}')`); } };

/**
 * Reverse-mode autodiff over the IR, engine-free: appends to (a copy of) `graph` the nodes that
 * compute d loss / d x for every x in `wrt`, as graph outputs. One reverse sweep over the nodes in
 * recording order (a topological order): a node is differentiated when one of its outputs is a
 * float32 value that depends on `wrt` and leads to the loss; the gradients reaching a value from
 * several consumers are summed (fan-out). Each op's vector-Jacobian product is in `VJP_RULES`.
 * Errors: a `wrt` name with no path to the loss, and a node on the path whose op has no rule.
 */
export function appendGradients(graph: Graph, options: GradientOptions): GradientGraph {
  const { loss, wrt, gradientName = (n: string) => `grad.${n}`, namePrefix = 'grad/', asOutputs = true } = options;
  const g = GraphOps.continue(graph, NO_PARAMETERS, { namePrefix });
  const lossValue = g.value(loss);
  if (lossValue.dtype !== 'float32' || lossValue.shape.length !== 0) throw new TypeError(`appendGradients: loss '${loss}' must be a float32 scalar, got ${lossValue.dtype} [${lossValue.shape}]`);
  const leaves = new Set([...graph.inputs.map((v) => v.name), ...graph.initializers.map((i) => i.name)]);
  for (const name of wrt) {
    const v = leaves.has(name) ? g.value(name) : undefined;
    if (v === undefined || v.dtype !== 'float32') throw new TypeError(`appendGradients: wrt '${name}' must be a float32 graph input or initializer, got ${v === undefined ? 'no such leaf' : v.dtype}`);
  }
  if (new Set(wrt).size !== wrt.length) throw new Error(`appendGradients: wrt repeats a name: [${wrt.join(', ')}]`);

  // 1. Values that depend on wrt (float32 only: ints, bools and shapes carry no gradient).
  const varying = new Set(wrt);
  for (const n of graph.nodes) {
    if (!n.inputs.some((i) => varying.has(i))) continue;
    for (const o of n.outputs) if (g.value(o).dtype === 'float32') varying.add(o);
  }
  // 2. Values the loss depends on.
  const useful = new Set([loss]);
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const n = graph.nodes[k];
    if (n.outputs.some((o) => useful.has(o))) n.inputs.forEach((i) => useful.add(i));
  }
  for (const name of wrt) {
    if (!useful.has(name)) throw new Error(`appendGradients: '${name}' has no path to the loss '${loss}' (freeze it or leave it out of wrt)`);
  }
  const onPath = (name: string) => varying.has(name) && useful.has(name);

  // The node computing a value, forward or backward (recorded nodes are indexed as they appear).
  const producers = new Map<string, GraphNode>();
  let indexed = 0;
  const producer = (value: string) => {
    const nodes = g.toGraph().nodes;
    for (; indexed < nodes.length; indexed++) for (const o of nodes[indexed].outputs) producers.set(o, nodes[indexed]);
    return producers.get(value);
  };

  // 3. The reverse sweep; contributions are summed when a value's gradient is first read.
  const contributions = new Map<string, GraphValue[]>([[loss, [g.scalar(1)]]]);
  const gradientOf = (name: string): GraphValue | null => {
    const parts = contributions.get(name);
    if (parts === undefined) return null;
    const total = g.addN(parts);
    contributions.set(name, [total]);
    return total;
  };
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node: GraphNode = graph.nodes[k];
    if (!node.outputs.some(onPath)) continue;
    const rule = VJP_RULES[node.op];
    if (rule === undefined) throw new Error(`appendGradients: no gradient rule for op '${node.op}' (node '${node.name}', on the path to the loss '${loss}')`);
    const grads = node.outputs.map((o) => (onPath(o) ? gradientOf(o) : null));
    if (grads.every((d) => d === null)) continue;
    const needs = node.inputs.map(onPath);
    const inputGrads = rule({ g, node, inputs: node.inputs.map((i) => g.value(i)), outputs: node.outputs.map((o) => g.value(o)), grads, needs, producer });
    inputGrads.forEach((d, i) => {
      if (d === null || !needs[i]) return;
      const name = node.inputs[i];
      contributions.set(name, [...(contributions.get(name) ?? []), d]);
    });
  }

  // 4. One output per wrt name.
  const gradients = new Map<string, string>();
  const values = new Map<string, GraphValue>();
  for (const name of wrt) {
    const d = gradientOf(name);
    if (d === null) throw new Error(`appendGradients: no gradient reached '${name}'`);
    values.set(name, d);
    if (asOutputs) gradients.set(name, g.output(d, gradientName(name)).name);
  }
  // With the gradients as outputs, what a rule recorded and then rewrote can go.
  return { graph: asOutputs ? withoutDeadNodes(g.toGraph()) : g.toGraph(), gradients, values };
}
