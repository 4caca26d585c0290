import type { Rng } from '@proj/core';
import type { Dim, DType, Ops } from './ops';
import { maskedCrossEntropy } from './cross-entropy';
import { broadcastShapes, dimEquals, product, resolveReshape } from './symbolic-shape';

/**
 * dtypes of graph values: the `Ops` dtypes plus int64, which only IR-level ops make (shapes,
 * ScatterND / GatherElements indices); model code written against `Ops` never sees it.
 */
export type GraphDType = DType | 'int64';

/** A value in the recorded graph: a graph input, an initializer or a node output. */
export interface GraphValue {
  readonly name: string;
  readonly dtype: GraphDType;
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
  dtype: GraphDType;
  shape: number[];
  kind: 'parameter' | 'constant';
  values?: Float32Array | Int32Array | BigInt64Array;
}

/** A dropout recorded as a mask input (GraphOps with `dropout: 'inputs'`), in recording order. */
export interface DropoutMaskInput {
  /** The graph input holding the mask (shape of the dropped value). */
  name: string;
  rate: number;
}

export interface Graph {
  /** Dropout mask inputs in the order the model drew them (training graphs only). */
  dropoutMasks?: DropoutMaskInput[];
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

export interface GraphOpsOptions {
  /** Prefix of every node and value name this recorder makes (e.g. 'grad/' for a backward pass). */
  namePrefix?: string;
  /**
   * What `dropout` records: 'identity' (default; exported graphs are for inference) or 'inputs':
   * x · mask, the mask a float32 input `dropout_mask.<k>` of x's shape, listed in
   * `Graph.dropoutMasks`, for training graphs fed the masks TfOps would draw (`dropoutMaskFeeds`).
   */
  dropout?: 'identity' | 'inputs';
}

/** One output of a node being recorded. */
export interface OutputSpec {
  dtype: GraphDType;
  shape: Dim[];
}

/**
 * `Ops` that records a graph instead of computing: the model code runs once on symbolic inputs
 * (declared with `input`) and leaves a plain IR of nodes with op types, inputs, outputs, dtypes,
 * static or symbolic shapes and initializers, for the ONNX exporter. Nothing here is numeric.
 * Besides the `Ops` methods it records IR-level ops that models never call (Shape, Expand,
 * GatherElements, ScatterND, Split, Pad, ...), each with its output shape inferred, for losses and
 * the reverse-mode autodiff (`src/autodiff/`).
 */
export class GraphOps implements Ops<GraphValue> {
  readonly kind = 'graph';
  private readonly graph: Graph = { inputs: [], outputs: [], nodes: [], initializers: [], valueInfo: [] };
  private readonly values = new Map<string, GraphValue>();
  private readonly counters = new Map<string, number>();
  private readonly shapes = new Map<string, GraphValue>();
  private readonly prefix: string;
  private readonly dropoutMode: 'identity' | 'inputs';

  constructor(
    private readonly params: ParameterShapes,
    options: GraphOpsOptions = {},
  ) {
    this.prefix = options.namePrefix ?? '';
    this.dropoutMode = options.dropout ?? 'identity';
  }

  /**
   * A recorder that appends to a copy of `graph` (its arrays are copied, its nodes are shared
   * until replaced): every value of `graph` can be used, new names start with `namePrefix`.
   */
  static continue(graph: Graph, params: ParameterShapes, options: GraphOpsOptions = {}): GraphOps {
    const g = new GraphOps(params, options);
    const own = g.graph;
    own.inputs.push(...graph.inputs);
    own.outputs.push(...graph.outputs);
    own.nodes.push(...graph.nodes);
    own.initializers.push(...graph.initializers);
    own.valueInfo.push(...graph.valueInfo);
    if (graph.dropoutMasks !== undefined) own.dropoutMasks = [...graph.dropoutMasks];
    for (const v of [...graph.inputs, ...graph.valueInfo]) g.values.set(v.name, v);
    for (const i of graph.initializers) g.values.set(i.name, { name: i.name, dtype: i.dtype, shape: i.shape });
    return g;
  }

  /** Declares a graph input; symbolic dims (strings) stay dynamic in the exported model. */
  input(name: string, dtype: GraphDType, shape: Dim[]): GraphValue {
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

  /** The value named `name` (an input, initializer or node output), or an error naming it. */
  value(name: string): GraphValue {
    const v = this.values.get(name);
    if (v === undefined) throw new Error(`GraphOps.value: no value named '${name}'`);
    return v;
  }

  private uniqueName(base: string): string {
    const n = this.counters.get(base) ?? 0;
    this.counters.set(base, n + 1);
    return `${this.prefix}${base}_${n}`;
  }

  private define(v: GraphValue, op: string): GraphValue {
    if (this.values.has(v.name)) throw new Error(`GraphOps.${op}: value '${v.name}' is already defined`);
    this.values.set(v.name, v);
    this.graph.valueInfo.push(v);
    return v;
  }

  private node(op: string, inputs: GraphValue[], out: OutputSpec, attrs: Record<string, AttrValue> = {}, outName?: string): GraphValue {
    return this.record(op, inputs, [out], attrs, outName)[0];
  }

  /**
   * Records one node with any number of outputs (named `<node>_out`, `<node>_out1`, ...; the
   * first may be given) whose dtypes and shapes the caller has inferred.
   */
  record(op: string, inputs: GraphValue[], outs: OutputSpec[], attrs: Record<string, AttrValue> = {}, outName?: string): GraphValue[] {
    const name = this.uniqueName(op);
    const outputs = outs.map((o, i) => this.define({ name: i === 0 ? (outName ?? `${name}_out`) : `${name}_out${i}`, dtype: o.dtype, shape: o.shape }, op));
    this.graph.nodes.push({ op, name, inputs: inputs.map((i) => i.name), outputs: outputs.map((o) => o.name), attrs });
    return outputs;
  }

  /**
   * Gives an already recorded node more outputs (e.g. LayerNormalization's saved mean and inverse
   * standard deviation for its gradient). The node is replaced by a copy, so graphs sharing the
   * old node object are not changed.
   */
  addOutputs(nodeName: string, outs: OutputSpec[]): GraphValue[] {
    const i = this.graph.nodes.findIndex((n) => n.name === nodeName);
    if (i < 0) throw new Error(`GraphOps.addOutputs: no node named '${nodeName}'`);
    const node = this.graph.nodes[i];
    const first = node.outputs.length;
    const added = outs.map((o, k) => this.define({ name: `${this.prefix}${nodeName}_out${first + k}`, dtype: o.dtype, shape: o.shape }, 'addOutputs'));
    this.graph.nodes[i] = { ...node, outputs: [...node.outputs, ...added.map((v) => v.name)] };
    return added;
  }

  shape(x: GraphValue): Dim[] {
    return x.shape;
  }
  dtype(x: GraphValue): DType {
    if (x.dtype === 'int64') throw new TypeError(`GraphOps.dtype: '${x.name}' is int64, which Ops code does not handle`);
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
    return this.initializer(dtype, shape, dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values));
  }
  private initializer(dtype: GraphDType, shape: number[], values: Float32Array | Int32Array | BigInt64Array): GraphValue {
    const name = this.uniqueName('const');
    const v: GraphValue = { name, dtype, shape };
    this.values.set(name, v);
    this.graph.initializers.push({ name, dtype, shape, kind: 'constant', values });
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

  private binary(op: string, a: GraphValue, b: GraphValue, dtype: GraphDType = a.dtype): GraphValue {
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
  cast(x: GraphValue, dtype: GraphDType): GraphValue {
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
    if (logits.shape.length !== 2 || targets.shape.length !== 1 || targets.dtype !== 'int32') {
      throw new RangeError(`GraphOps.crossEntropy: logits must be [N, V] and targets int32 [N], got [${logits.shape}] and ${targets.dtype} [${targets.shape}]`);
    }
    // Not ONNX SoftmaxCrossEntropyLoss: it gives NaN on onnxruntime when every target is ignored.
    // The log-probability of each target is one GatherElements (no one-hot [N, V]).
    return maskedCrossEntropy(this, logits, targets, ignoreIndex, (logProbs, safeTargets) => {
      const picked = this.gatherElements(logProbs, this.unsqueeze(this.cast(safeTargets, 'int64'), [1]), 1);
      return this.reshape(picked, [targets.shape[0]]);
    });
  }
  dropout(x: GraphValue, rate: number, _rng: Rng): GraphValue {
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`GraphOps.dropout: rate must be in [0, 1), got ${rate}`);
    // Inference graphs: the identity. Training graphs: the mask is an input, drawn by the host.
    if (this.dropoutMode === 'identity' || rate === 0) return x;
    const masks = (this.graph.dropoutMasks ??= []);
    const mask = this.input(`${this.prefix}dropout_mask.${masks.length}`, 'float32', x.shape);
    masks.push({ name: mask.name, rate });
    return this.mul(x, mask);
  }

  // IR-level ops (not in `Ops`): shapes, int64 indices, scatter / gather by element, several outputs.

  /** int64 constant (shapes, axes, indices); values must be safe integers. */
  int64Constant(values: readonly number[], shape: number[] = [values.length]): GraphValue {
    if (values.some((v) => !Number.isSafeInteger(v))) throw new RangeError(`GraphOps.int64Constant: values must be safe integers, got [${values}]`);
    return this.initializer('int64', shape, BigInt64Array.from(values, (v) => BigInt(v)));
  }
  /** Shape of x (dims start..end-1) as int64 [n]; recorded once per (x, start, end). */
  shapeOf(x: GraphValue, start = 0, end = x.shape.length): GraphValue {
    const key = `${x.name}\u0000${start}\u0000${end}`;
    const hit = this.shapes.get(key);
    if (hit !== undefined) return hit;
    if (!(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= x.shape.length)) {
      throw new RangeError(`GraphOps.shapeOf: dims ${start}..${end} out of range for rank ${x.shape.length}`);
    }
    const attrs: Record<string, AttrValue> = start === 0 && end === x.shape.length ? {} : { start, end };
    const out = this.node('Shape', [x], { dtype: 'int64', shape: [end - start] }, attrs);
    this.shapes.set(key, out);
    return out;
  }
  /** Number of elements of x, int64 scalar. */
  size(x: GraphValue): GraphValue {
    return this.node('Size', [x], { dtype: 'int64', shape: [] });
  }
  /** x broadcast to the shape of `like` (ONNX Expand with Shape(like)). */
  expandLike(x: GraphValue, like: GraphValue): GraphValue {
    return this.node('Expand', [x, this.shapeOf(like)], { dtype: x.dtype, shape: broadcastShapes(x.shape, like.shape, 'expandLike') });
  }
  /** x reshaped to the shape `like` has at run time (element counts must agree). */
  reshapeLike(x: GraphValue, like: GraphValue): GraphValue {
    if (like.shape.every((d) => typeof d === 'number')) return this.reshape(x, like.shape);
    return this.reshapeTo(x, this.shapeOf(like), like.shape);
  }
  /** Reshape to a run-time int64 shape tensor; `shape` is what the IR records for the result. */
  reshapeTo(x: GraphValue, target: GraphValue, shape: Dim[]): GraphValue {
    if (target.dtype !== 'int64' || target.shape.length !== 1) throw new TypeError(`GraphOps.reshapeTo: target must be int64 [rank], got ${target.dtype} [${target.shape}]`);
    return this.node('Reshape', [x, target], { dtype: x.dtype, shape });
  }
  /** Zeros of x's dtype and run-time shape. */
  zerosLike(x: GraphValue): GraphValue {
    const zero = x.dtype === 'int64' ? this.int64Constant([0], []) : this.constant([0], [], x.dtype);
    return this.expandLike(zero, x);
  }
  /** Inserts size-1 axes (positions in the output). */
  unsqueeze(x: GraphValue, axes: number[]): GraphValue {
    const rank = x.shape.length + axes.length;
    const norm = axes.map((a) => normAxis(a, rank, 'unsqueeze')).sort((a, b) => a - b);
    const shape: Dim[] = [];
    let k = 0;
    for (let i = 0; i < rank; i++) shape.push(norm.includes(i) ? 1 : x.shape[k++]);
    return this.node('Unsqueeze', [x, this.int64Constant(norm)], { dtype: x.dtype, shape });
  }
  /** data's elements at `indices` (int64, same rank as data) along `axis`: indices' shape. */
  gatherElements(data: GraphValue, indices: GraphValue, axis: number): GraphValue {
    if (indices.dtype !== 'int64' || indices.shape.length !== data.shape.length) {
      throw new TypeError(`GraphOps.gatherElements: indices must be int64 of rank ${data.shape.length}, got ${indices.dtype} [${indices.shape}]`);
    }
    return this.node('GatherElements', [data, indices], { dtype: data.dtype, shape: indices.shape }, { axis: normAxis(axis, data.shape.length, 'gatherElements') });
  }
  /** data with `updates` added at `indices` along `axis` (ScatterElements, reduction 'add': duplicates sum; opset 16+). */
  scatterElementsAdd(data: GraphValue, indices: GraphValue, updates: GraphValue, axis: number): GraphValue {
    if (indices.dtype !== 'int64') throw new TypeError(`GraphOps.scatterElementsAdd: indices must be int64, got ${indices.dtype}`);
    return this.node('ScatterElements', [data, indices, updates], { dtype: data.dtype, shape: data.shape }, { axis: normAxis(axis, data.shape.length, 'scatterElementsAdd'), reduction: 'add' });
  }
  /** data with `updates` added at the index tuples `indices` [..., k] (ScatterND, reduction 'add': duplicates sum; opset 16+). */
  scatterNDAdd(data: GraphValue, indices: GraphValue, updates: GraphValue): GraphValue {
    if (indices.dtype !== 'int64') throw new TypeError(`GraphOps.scatterNDAdd: indices must be int64, got ${indices.dtype}`);
    return this.node('ScatterND', [data, indices, updates], { dtype: data.dtype, shape: data.shape }, { reduction: 'add' });
  }
  /** Splits x along `axis` into pieces of the given run-time sizes (int64 [n]); `shapes` are the pieces' IR shapes. */
  split(x: GraphValue, axis: number, sizes: GraphValue, shapes: Dim[][]): GraphValue[] {
    const a = normAxis(axis, x.shape.length, 'split');
    if (sizes.dtype !== 'int64' || sizes.shape.length !== 1 || !dimEquals(sizes.shape[0], shapes.length)) {
      throw new TypeError(`GraphOps.split: sizes must be int64 [${shapes.length}], got ${sizes.dtype} [${sizes.shape}]`);
    }
    return this.record('Split', [x, sizes], shapes.map((shape) => ({ dtype: x.dtype, shape })), { axis: a });
  }
  /** Zero padding: pads int64 [2 * rank] (all begins, then all ends); `shape` is the result's IR shape. */
  padZeros(x: GraphValue, pads: GraphValue, shape: Dim[]): GraphValue {
    if (pads.dtype !== 'int64' || !dimEquals(pads.shape[0], 2 * x.shape.length)) throw new TypeError(`GraphOps.padZeros: pads must be int64 [${2 * x.shape.length}], got ${pads.dtype} [${pads.shape}]`);
    return this.node('Pad', [x, pads], { dtype: x.dtype, shape }, { mode: 'constant' });
  }
  /** Elementwise sum of any number of values (ONNX Sum, broadcasting). */
  addN(xs: GraphValue[]): GraphValue {
    if (xs.length === 0) throw new RangeError('GraphOps.addN: xs is empty');
    if (xs.length === 1) return xs[0];
    if (xs.length === 2) return this.add(xs[0], xs[1]);
    const shape = xs.slice(1).reduce((s, x) => broadcastShapes(s, x.shape, 'addN'), xs[0].shape);
    return this.node('Sum', xs, { dtype: xs[0].dtype, shape });
  }
  /** Elementwise minimum (ONNX Min), broadcasting. */
  minimum(a: GraphValue, b: GraphValue): GraphValue {
    return this.binary('Min', a, b);
  }
  /** Elementwise comparison, bool result. */
  compare(op: 'Greater' | 'GreaterOrEqual' | 'Less' | 'LessOrEqual', a: GraphValue, b: GraphValue): GraphValue {
    return this.binary(op, a, b, 'bool');
  }
  not(x: GraphValue): GraphValue {
    if (x.dtype !== 'bool') throw new TypeError(`GraphOps.not: x must be bool, got ${x.dtype}`);
    return this.unary('Not', x);
  }
  and(a: GraphValue, b: GraphValue): GraphValue {
    return this.binary('And', a, b, 'bool');
  }
}

/**
 * The graph of a training step: the named parameters (initializers of kind 'parameter') become
 * float32 graph inputs after the existing ones, in the given order, so a session is fed the
 * current weights each run; every other initializer (frozen parameters, constants) stays. The
 * export path keeps using the graph with initializers.
 */
export function parametersAsInputs(graph: Graph, names: readonly string[]): Graph {
  const byName = new Map(graph.initializers.map((i) => [i.name, i]));
  const moved = names.map((name) => {
    const init = byName.get(name);
    if (init === undefined || init.kind !== 'parameter') {
      const params = graph.initializers.filter((i) => i.kind === 'parameter').map((i) => i.name);
      throw new Error(`parametersAsInputs: '${name}' is not a parameter of the graph (has ${params.length}: ${params.slice(0, 5).join(', ')}${params.length > 5 ? ', ...' : ''})`);
    }
    return init;
  });
  const set = new Set(names);
  if (set.size !== names.length) throw new Error(`parametersAsInputs: names repeat a parameter: [${names.join(', ')}]`);
  return {
    ...graph,
    inputs: [...graph.inputs, ...moved.map((i): GraphValue => ({ name: i.name, dtype: i.dtype, shape: [...i.shape] }))],
    initializers: graph.initializers.filter((i) => !set.has(i.name)),
  };
}
