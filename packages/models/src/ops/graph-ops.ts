import type { Rng } from '@proj/core';
import type { Dim, DType, Ops } from './ops';
import { broadcastShapes, dimEquals, product, resolveReshape } from './symbolic-shape';

/** A value in the recorded graph: a graph input, an initializer or a node output. */
export interface GraphValue {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Dim[];
}

export type AttrValue = number | string | boolean | number[] | Dim[];

/** One operation; `op` uses ONNX operator names so the exporter maps them one to one. */
export interface GraphNode {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

/** A constant of the graph: a model parameter (values live in the parameter store) or an inline constant. */
export interface GraphInitializer {
  name: string;
  dtype: DType;
  shape: number[];
  kind: 'parameter' | 'constant';
  values?: Float32Array | Int32Array;
}

export interface Graph {
  inputs: GraphValue[];
  outputs: GraphValue[];
  nodes: GraphNode[];
  initializers: GraphInitializer[];
  /** dtype and shape of every node output, in recording order (ONNX value_info). */
  valueInfo: GraphValue[];
}

/** Where the recorder finds parameter shapes (a ParameterStore fits). */
export interface ParameterShapes {
  has(name: string): boolean;
  shape(name: string): number[];
}

function normAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`GraphOps.${op}: axis ${axis} out of range for rank ${rank}`);
  return a;
}

/**
 * `Ops` that records a graph instead of computing: the model code runs once on symbolic inputs
 * (declared with `input`) and leaves a plain IR of nodes with op types, inputs, outputs, dtypes,
 * static or symbolic shapes and initializers, for the ONNX exporter. Nothing here is numeric.
 */
export class GraphOps implements Ops<GraphValue> {
  readonly kind = 'graph';
  private readonly graph: Graph = { inputs: [], outputs: [], nodes: [], initializers: [], valueInfo: [] };
  private readonly values = new Map<string, GraphValue>();
  private readonly counters = new Map<string, number>();

  constructor(private readonly params: ParameterShapes) {}

  /** Declares a graph input; symbolic dims (strings) stay dynamic in the exported model. */
  input(name: string, dtype: DType, shape: Dim[]): GraphValue {
    if (this.values.has(name)) throw new Error(`GraphOps.input: '${name}' is already defined`);
    const v: GraphValue = { name, dtype, shape };
    this.values.set(name, v);
    this.graph.inputs.push(v);
    return v;
  }

  /** Marks a value as a graph output under `name` (adds an Identity node). */
  output(x: GraphValue, name: string): GraphValue {
    const out = this.node('Identity', [x], { dtype: x.dtype, shape: x.shape }, {}, name);
    this.graph.outputs.push(out);
    return out;
  }

  /** The recorded graph so far. */
  toGraph(): Graph {
    return this.graph;
  }

  private uniqueName(base: string): string {
    const n = this.counters.get(base) ?? 0;
    this.counters.set(base, n + 1);
    return `${base}_${n}`;
  }

  private node(op: string, inputs: GraphValue[], out: { dtype: DType; shape: Dim[] }, attrs: Record<string, AttrValue> = {}, outName?: string): GraphValue {
    const name = this.uniqueName(op);
    const output: GraphValue = { name: outName ?? `${name}_out`, dtype: out.dtype, shape: out.shape };
    if (this.values.has(output.name)) throw new Error(`GraphOps.${op}: value '${output.name}' is already defined`);
    this.values.set(output.name, output);
    this.graph.valueInfo.push(output);
    this.graph.nodes.push({ op, name, inputs: inputs.map((i) => i.name), outputs: [output.name], attrs });
    return output;
  }

  shape(x: GraphValue): Dim[] {
    return x.shape;
  }
  dtype(x: GraphValue): DType {
    return x.dtype;
  }

  param(name: string): GraphValue {
    const existing = this.values.get(name);
    if (existing) return existing;
    if (!this.params.has(name)) throw new Error(`GraphOps.param: no parameter named '${name}'`);
    const v: GraphValue = { name, dtype: 'float32', shape: this.params.shape(name) };
    this.values.set(name, v);
    this.graph.initializers.push({ name, dtype: 'float32', shape: [...this.params.shape(name)], kind: 'parameter' });
    return v;
  }
  constant(values: ArrayLike<number>, shape: number[], dtype: DType = 'float32'): GraphValue {
    const n = shape.reduce((a, b) => a * b, 1);
    if (values.length !== n) throw new RangeError(`GraphOps.constant: ${values.length} values do not fill shape [${shape}] (${n})`);
    const name = this.uniqueName('const');
    const v: GraphValue = { name, dtype, shape };
    this.values.set(name, v);
    this.graph.initializers.push({ name, dtype, shape, kind: 'constant', values: dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values) });
    return v;
  }
  scalar(value: number, dtype: DType = 'float32'): GraphValue {
    return this.constant([value], [], dtype);
  }

  matMul(a: GraphValue, b: GraphValue): GraphValue {
    if (a.shape.length < 2 || b.shape.length < 2) throw new RangeError(`GraphOps.matMul: a and b need rank >= 2, got [${a.shape}] and [${b.shape}]`);
    const k1 = a.shape[a.shape.length - 1];
    const k2 = b.shape[b.shape.length - 2];
    if (!dimEquals(k1, k2)) throw new RangeError(`GraphOps.matMul: inner dims differ: a [${a.shape}], b [${b.shape}]`);
    const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'matMul');
    return this.node('MatMul', [a, b], { dtype: 'float32', shape: [...batch, a.shape[a.shape.length - 2], b.shape[b.shape.length - 1]] });
  }

  private binary(op: string, a: GraphValue, b: GraphValue, dtype: DType = a.dtype): GraphValue {
    return this.node(op, [a, b], { dtype, shape: broadcastShapes(a.shape, b.shape, op) });
  }
  add(a: GraphValue, b: GraphValue): GraphValue {
    return this.binary('Add', a, b);
  }
  sub(a: GraphValue, b: GraphValue): GraphValue {
    return this.binary('Sub', a, b);
  }
  mul(a: GraphValue, b: GraphValue): GraphValue {
    return this.binary('Mul', a, b);
  }
  div(a: GraphValue, b: GraphValue): GraphValue {
    return this.binary('Div', a, b);
  }
  maximum(a: GraphValue, b: GraphValue): GraphValue {
    return this.binary('Max', a, b);
  }
  equal(a: GraphValue, b: GraphValue): GraphValue {
    return this.binary('Equal', a, b, 'bool');
  }
  where(condition: GraphValue, a: GraphValue, b: GraphValue): GraphValue {
    if (condition.dtype !== 'bool') throw new TypeError(`GraphOps.where: condition must be bool, got ${condition.dtype}`);
    const shape = broadcastShapes(broadcastShapes(condition.shape, a.shape, 'where'), b.shape, 'where');
    return this.node('Where', [condition, a, b], { dtype: a.dtype, shape });
  }
  cast(x: GraphValue, dtype: DType): GraphValue {
    return this.node('Cast', [x], { dtype, shape: x.shape }, { to: dtype });
  }

  private unary(op: string, x: GraphValue, attrs: Record<string, AttrValue> = {}): GraphValue {
    return this.node(op, [x], { dtype: x.dtype, shape: x.shape }, attrs);
  }
  neg(x: GraphValue): GraphValue {
    return this.unary('Neg', x);
  }
  exp(x: GraphValue): GraphValue {
    return this.unary('Exp', x);
  }
  log(x: GraphValue): GraphValue {
    return this.unary('Log', x);
  }
  sqrt(x: GraphValue): GraphValue {
    return this.unary('Sqrt', x);
  }
  erf(x: GraphValue): GraphValue {
    return this.unary('Erf', x);
  }
  tanh(x: GraphValue): GraphValue {
    return this.unary('Tanh', x);
  }
  sigmoid(x: GraphValue): GraphValue {
    return this.unary('Sigmoid', x);
  }
  relu(x: GraphValue): GraphValue {
    return this.unary('Relu', x);
  }
  gelu(x: GraphValue): GraphValue {
    // ONNX Gelu (opset 20) with approximate='none'; the exporter may lower it to Erf for older opsets.
    return this.unary('Gelu', x, { approximate: 'none' });
  }

  reshape(x: GraphValue, shape: Dim[]): GraphValue {
    const resolved = resolveReshape(x.shape, shape);
    const before = product(x.shape);
    const after = product(resolved);
    if (typeof before === 'number' && typeof after === 'number' && before !== after) {
      throw new RangeError(`GraphOps.reshape: cannot reshape [${x.shape}] (${before}) to [${shape}] (${after})`);
    }
    return this.node('Reshape', [x], { dtype: x.dtype, shape: resolved }, { shape });
  }
  transpose(x: GraphValue, perm: number[]): GraphValue {
    if (perm.length !== x.shape.length || [...perm].sort().some((p, i) => p !== i)) {
      throw new RangeError(`GraphOps.transpose: perm [${perm}] is not a permutation of rank ${x.shape.length}`);
    }
    return this.node('Transpose', [x], { dtype: x.dtype, shape: perm.map((p) => x.shape[p]) }, { perm });
  }
  concat(xs: GraphValue[], axis: number): GraphValue {
    if (xs.length === 0) throw new RangeError('GraphOps.concat: xs is empty');
    const rank = xs[0].shape.length;
    const a = normAxis(axis, rank, 'concat');
    const shape = [...xs[0].shape];
    const along = xs.map((x) => x.shape[a]);
    shape[a] = along.every((d) => typeof d === 'number') ? (along as number[]).reduce((s, d) => s + d, 0) : along.join('+');
    return this.node('Concat', xs, { dtype: xs[0].dtype, shape }, { axis: a });
  }
  slice(x: GraphValue, begin: number[], size: Dim[]): GraphValue {
    const rank = x.shape.length;
    if (begin.length !== rank || size.length !== rank) throw new RangeError(`GraphOps.slice: begin [${begin}] and size [${size}] must have rank ${rank}`);
    const shape = size.map((s, i) => {
      if (s !== -1) return s;
      const d = x.shape[i];
      return begin[i] === 0 ? d : typeof d === 'number' ? d - begin[i] : `${d}-${begin[i]}`;
    });
    return this.node('Slice', [x], { dtype: x.dtype, shape }, { begin, size });
  }
  gather(table: GraphValue, indices: GraphValue): GraphValue {
    if (indices.dtype !== 'int32') throw new TypeError(`GraphOps.gather: indices must be int32, got ${indices.dtype}`);
    return this.node('Gather', [table, indices], { dtype: table.dtype, shape: [...indices.shape, ...table.shape.slice(1)] }, { axis: 0 });
  }

  private reduce(op: string, x: GraphValue, axes: number[], keepDims: boolean): GraphValue {
    const rank = x.shape.length;
    const norm = axes.map((a) => normAxis(a, rank, op));
    const shape = keepDims ? x.shape.map((d, i) => (norm.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !norm.includes(i));
    return this.node(op, [x], { dtype: x.dtype, shape }, { axes: norm, keepdims: keepDims });
  }
  sum(x: GraphValue, axes: number[], keepDims = false): GraphValue {
    return this.reduce('ReduceSum', x, axes, keepDims);
  }
  mean(x: GraphValue, axes: number[], keepDims = false): GraphValue {
    return this.reduce('ReduceMean', x, axes, keepDims);
  }
  max(x: GraphValue, axes: number[], keepDims = false): GraphValue {
    return this.reduce('ReduceMax', x, axes, keepDims);
  }

  softmax(x: GraphValue): GraphValue {
    return this.unary('Softmax', x, { axis: -1 });
  }
  logSoftmax(x: GraphValue): GraphValue {
    return this.unary('LogSoftmax', x, { axis: -1 });
  }
  layerNorm(x: GraphValue, gamma: GraphValue, beta: GraphValue, eps: number): GraphValue {
    const h = x.shape[x.shape.length - 1];
    if (!dimEquals(gamma.shape[0], h) || !dimEquals(beta.shape[0], h)) {
      throw new RangeError(`GraphOps.layerNorm: gamma [${gamma.shape}] / beta [${beta.shape}] do not match last dim ${h}`);
    }
    return this.node('LayerNormalization', [x, gamma, beta], { dtype: x.dtype, shape: x.shape }, { axis: -1, epsilon: eps });
  }
  crossEntropy(logits: GraphValue, targets: GraphValue, ignoreIndex = -100): GraphValue {
    return this.node('SoftmaxCrossEntropyLoss', [logits, targets], { dtype: 'float32', shape: [] }, { reduction: 'mean', ignore_index: ignoreIndex });
  }
  dropout(x: GraphValue, _rate: number, _rng: Rng): GraphValue {
    // Exported graphs are for inference: dropout is the identity.
    return x;
  }
}
