import type { GraphNode, GraphOps, GraphValue } from '../ops/graph-ops';
import type { Dim } from '../ops/ops';
import { unbroadcast } from './unbroadcast';

/** What a vector-Jacobian rule sees of one forward node. */
export interface VjpContext {
  /** Records the backward nodes (a GraphOps continuing the forward graph). */
  g: GraphOps;
  node: GraphNode;
  /** The node's forward inputs and outputs, as graph values. */
  inputs: GraphValue[];
  outputs: GraphValue[];
  /** d loss / d output, per output; null where no gradient reaches that output. */
  grads: (GraphValue | null)[];
  /** Which inputs need a gradient (float32 values that depend on a parameter). */
  needs: boolean[];
  /** The node that computes a value, forward or backward so far (undefined for inputs and initializers). */
  producer?: (value: string) => GraphNode | undefined;
}

/** d loss / d input per input (null: none needed or none exists), each of that input's shape. */
export type VjpRule = (c: VjpContext) => (GraphValue | null)[];

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

function axisOf(node: GraphNode, rank: number): number {
  const a = (node.attrs.axis as number | undefined) ?? -1;
  return a < 0 ? a + rank : a;
}

/** The single output gradient of a one-output node. */
function dy(c: VjpContext): GraphValue {
  const d = c.grads[0];
  if (d === null) throw new Error(`autodiff: ${c.node.op} node '${c.node.name}' has no output gradient`);
  return d;
}

/** The permutation that swaps the last two of `rank` axes. */
function lastTwoSwapped(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return perm;
}

/**
 * x with its last two axes swapped. When the forward computed x as such a swap of some w (a tied
 * output projection: MatMul(h, Transpose(embeddings))), w itself: no transpose of a transpose,
 * which onnxruntime does not cancel (a [21,128, 512] copy per step at BERT-small).
 */
function swapLast(c: VjpContext, x: GraphValue): GraphValue {
  const swap = lastTwoSwapped(x.shape.length);
  const from = c.producer?.(x.name);
  if (from?.op === 'Transpose' && (from.attrs.perm as number[]).join() === swap.join()) return c.g.value(from.inputs[0]);
  return c.g.transpose(x, swap);
}

/**
 * d loss / d b of a @ b. A weight b [k, n] applied to a [..., m, k] (a linear layer) gets one
 * GEMM over every row, a [rows, k]ᵀ @ d [rows, n], instead of a batch of per-example products
 * summed afterwards (a [batch, k, n] intermediate and a ReduceSum).
 */
function matMulRightGrad(c: VjpContext, a: GraphValue, b: GraphValue, d: GraphValue): GraphValue {
  const { g } = c;
  const [k, n] = b.shape.slice(-2);
  if (b.shape.length === 2 && a.shape.length > 2 && typeof k === 'number' && typeof n === 'number') {
    return g.matMul(g.transpose(g.reshape(a, [-1, k]), [1, 0]), g.reshape(d, [-1, n]));
  }
  return unbroadcast(g, g.matMul(swapLast(c, a), d), b);
}

function sameShape(a: readonly Dim[], b: readonly Dim[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The pieces of a table recorded as Concat(pieces, axis 0) with numeric row counts (Gap-ReLM's word
 * embeddings with the prompt rows appended), each with its first row; null for any other table.
 */
function concatenatedRows(c: VjpContext, table: GraphValue): { piece: GraphValue; offset: number }[] | null {
  const from = c.producer?.(table.name);
  if (from?.op !== 'Concat' || from.attrs.axis !== 0) return null;
  const pieces = from.inputs.map((p) => c.g.value(p));
  if (!pieces.every((p) => typeof p.shape[0] === 'number')) return null;
  let offset = 0;
  return pieces.map((piece) => {
    const at = { piece, offset };
    offset += piece.shape[0] as number;
    return at;
  });
}

/**
 * The rows of `updates` whose index falls in [offset, offset + rows of piece), scatter-added into
 * zeros of the piece's shape; the other rows add zeros at local row 0. With one such scatter per
 * piece, a concatenated table's gradient is a Concat of pieces that the Concat rule hands back as
 * they are: no table-sized scatter target split into pieces afterwards (two [21,128, 512] copies
 * per step at BERT-small).
 */
function scatterIntoPiece(g: GraphOps, piece: GraphValue, offset: number, rows: GraphValue, updates: GraphValue): GraphValue {
  const local = g.sub(rows, g.int64Constant([offset], []));
  const inside = g.and(g.compare('GreaterOrEqual', local, g.int64Constant([0], [])), g.compare('Less', local, g.int64Constant([piece.shape[0] as number], [])));
  return g.scatterNDAdd(g.zerosLike(piece), g.where(inside, local, g.int64Constant([0], [])), g.where(inside, updates, g.scalar(0)));
}

/** A binary elementwise rule from the two broadcast-shaped partials; each is un-broadcast to its input. */
function binary(partials: (c: VjpContext, d: GraphValue) => [() => GraphValue, () => GraphValue]): VjpRule {
  return (c) => {
    const [da, db] = partials(c, dy(c));
    return [c.needs[0] ? unbroadcast(c.g, da(), c.inputs[0]) : null, c.needs[1] ? unbroadcast(c.g, db(), c.inputs[1]) : null];
  };
}

/** A unary elementwise rule: d loss / dx = dy · f'(x, y). */
function unary(times: (g: GraphOps, x: GraphValue, y: GraphValue) => GraphValue): VjpRule {
  return (c) => [c.g.mul(dy(c), times(c.g, c.inputs[0], c.outputs[0]))];
}

/** dy of a reduction over `axes` brought back to x's rank (size-1 axes where reduced). */
function keptDims(c: VjpContext, v: GraphValue): GraphValue {
  // A reduction with run-time axes (the un-broadcasting's own ReduceSum) has no rule: no second order.
  if (!Array.isArray(c.node.attrs.axes)) throw new RangeError(`autodiff: ${c.node.op} node '${c.node.name}' takes its axes at run time; the rule covers axes recorded as numbers`);
  return c.node.attrs.keepdims ? v : c.g.unsqueeze(v, c.node.attrs.axes as number[]);
}

/** Elements per reduced slice, float32 scalar: a constant when the reduced dims are numbers. */
function reducedCount(c: VjpContext): GraphValue {
  const { g } = c;
  const x = c.inputs[0];
  const dims = (c.node.attrs.axes as number[]).map((a) => x.shape[a]);
  if (dims.every((d): d is number => typeof d === 'number')) return g.scalar(dims.reduce((p, d) => p * d, 1));
  return g.cast(g.div(g.size(x), g.size(c.outputs[0])), 'float32');
}

/**
 * Vector-Jacobian products of every op GraphOps records, with standard ONNX ops (opset 17; the
 * scatters' reduction 'add' needs 16). Ops without a gradient (Equal, Cast to int, Shape, ...)
 * never carry one: only float32 values that depend on a parameter are differentiated.
 */
export const VJP_RULES: Readonly<Record<string, VjpRule>> = {
  Identity: (c) => [dy(c)],
  // Reached only float32 -> float32 (other casts end the float path).
  Cast: (c) => [dy(c)],
  Neg: (c) => [c.g.neg(dy(c))],

  MatMul: (c) => {
    const { g } = c;
    const [a, b] = c.inputs;
    const d = dy(c);
    return [c.needs[0] ? unbroadcast(g, g.matMul(d, swapLast(c, b)), a) : null, c.needs[1] ? matMulRightGrad(c, a, b, d) : null];
  },
  Add: binary((_c, d) => [() => d, () => d]),
  Sub: binary((c, d) => [() => d, () => c.g.neg(d)]),
  Mul: binary((c, d) => [() => c.g.mul(d, c.inputs[1]), () => c.g.mul(d, c.inputs[0])]),
  // d(a/b)/db = -a/b² = -y/b.
  Div: binary((c, d) => [() => c.g.div(d, c.inputs[1]), () => c.g.neg(c.g.mul(d, c.g.div(c.outputs[0], c.inputs[1])))]),
  // Ties go to a, as tfjs's maximum gradient does.
  Max: binary((c, d) => {
    const { g } = c;
    const [a, b] = c.inputs;
    return [() => g.mul(d, g.cast(g.compare('GreaterOrEqual', a, b), 'float32')), () => g.mul(d, g.cast(g.compare('Less', a, b), 'float32'))];
  }),
  Sum: (c) => c.inputs.map((x, i) => (c.needs[i] ? unbroadcast(c.g, dy(c), x) : null)),
  Where: (c) => {
    const { g } = c;
    const [cond, a, b] = c.inputs;
    const zero = g.scalar(0);
    return [null, c.needs[1] ? unbroadcast(g, g.where(cond, dy(c), zero), a) : null, c.needs[2] ? unbroadcast(g, g.where(cond, zero, dy(c)), b) : null];
  },

  Exp: unary((_g, _x, y) => y),
  Log: (c) => [c.g.div(dy(c), c.inputs[0])],
  Sqrt: (c) => [c.g.div(c.g.mul(dy(c), c.g.scalar(0.5)), c.outputs[0])],
  // erf'(x) = 2/√π · exp(-x²).
  Erf: unary((g, x) => g.mul(g.scalar(TWO_OVER_SQRT_PI), g.exp(g.neg(g.mul(x, x))))),
  Tanh: unary((g, _x, y) => g.sub(g.scalar(1), g.mul(y, y))),
  Sigmoid: unary((g, _x, y) => g.mul(y, g.sub(g.scalar(1), y))),
  Relu: (c) => [c.g.where(c.g.compare('Greater', c.inputs[0], c.g.scalar(0)), dy(c), c.g.scalar(0))],
  // gelu'(x) = Φ(x) + x·φ(x), Φ(x) = (1 + erf(x/√2))/2, φ(x) = exp(-x²/2)/√(2π).
  Gelu: (c) => {
    if (c.node.attrs.approximate !== 'none') throw new RangeError(`autodiff: Gelu node '${c.node.name}' has approximate='${String(c.node.attrs.approximate)}'; only 'none' has a rule`);
    const { g } = c;
    const x = c.inputs[0];
    const cdf = g.mul(g.scalar(0.5), g.add(g.scalar(1), g.erf(g.mul(x, g.scalar(Math.SQRT1_2)))));
    const pdf = g.mul(g.scalar(INV_SQRT_2PI), g.exp(g.mul(g.mul(x, x), g.scalar(-0.5))));
    return [g.mul(dy(c), g.add(cdf, g.mul(x, pdf)))];
  },

  Reshape: (c) => [c.g.reshapeLike(dy(c), c.inputs[0]), null],
  Transpose: (c) => {
    const perm = c.node.attrs.perm as number[];
    const d = dy(c);
    // (p·q)ᵀ = qᵀ·pᵀ: a transposed weight's gradient (a tied projection's [vocab, hidden]) as one
    // product in the weight's layout instead of a product and a transpose of it; the first product
    // is left unread (withoutDeadNodes drops it).
    const product = perm.length === 2 && perm[0] === 1 ? c.producer?.(d.name) : undefined;
    if (product?.op === 'MatMul' && product.inputs.every((i) => c.g.value(i).shape.length === 2)) {
      const [p, q] = product.inputs.map((i) => c.g.value(i));
      return [c.g.matMul(swapLast(c, q), swapLast(c, p))];
    }
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [c.g.transpose(d, inverse)];
  },
  Concat: (c) => {
    const { g } = c;
    const axis = c.node.attrs.axis as number;
    // dy built as a Concat of pieces of the inputs' shapes (a Gather's gradient per piece, below): those pieces.
    const built = c.producer?.(dy(c).name);
    if (built?.op === 'Concat' && built.attrs.axis === axis && built.inputs.length === c.inputs.length && built.inputs.every((p, i) => sameShape(g.value(p).shape, c.inputs[i].shape))) {
      return built.inputs.map((p, i) => (c.needs[i] ? g.value(p) : null));
    }
    const along = c.inputs.map((x) => x.shape[axis]);
    const sizes = along.every((d): d is number => typeof d === 'number') ? g.int64Constant(along) : g.concat(c.inputs.map((x) => g.shapeOf(x, axis, axis + 1)), 0);
    const pieces = g.split(dy(c), axis, sizes, c.inputs.map((x) => x.shape));
    return pieces.map((p, i) => (c.needs[i] ? p : null));
  },
  // The gradient of a slice is dy zero-padded back to x's shape.
  Slice: (c) => {
    const { g } = c;
    const [x] = c.inputs;
    const y = c.outputs[0];
    const begin = c.node.attrs.begin as number[];
    const staticDims = [...x.shape, ...y.shape].every((d) => typeof d === 'number');
    const pads = staticDims
      ? g.int64Constant([...begin, ...x.shape.map((d, i) => (d as number) - begin[i] - (y.shape[i] as number))])
      : g.concat([g.int64Constant(begin), g.sub(g.sub(g.shapeOf(x), g.int64Constant(begin)), g.shapeOf(y))], 0);
    return [g.padZeros(dy(c), pads, x.shape)];
  },
  // Rows of the table: scatter-add dy into zeros; repeated indices add up (ScatterND reduction 'add').
  Gather: (c) => {
    const { g } = c;
    const [table, indices] = c.inputs;
    if ((c.node.attrs.axis ?? 0) !== 0) throw new RangeError(`autodiff: Gather node '${c.node.name}' has axis ${String(c.node.attrs.axis)}; the rule covers axis 0`);
    const rows = g.reshape(g.cast(indices, 'int64'), [-1, 1]);
    const updates = g.reshape(dy(c), [-1, ...table.shape.slice(1)]);
    const pieces = concatenatedRows(c, table);
    if (pieces !== null) return [g.concat(pieces.map(({ piece, offset }) => scatterIntoPiece(g, piece, offset, rows, updates)), 0), null];
    return [g.scatterNDAdd(g.zerosLike(table), rows, updates), null];
  },
  GatherElements: (c) => {
    const { g } = c;
    const [data, indices] = c.inputs;
    return [g.scatterElementsAdd(g.zerosLike(data), indices, dy(c), c.node.attrs.axis as number), null];
  },

  ReduceSum: (c) => [c.g.expandLike(keptDims(c, dy(c)), c.inputs[0])],
  ReduceMean: (c) => [c.g.expandLike(c.g.div(keptDims(c, dy(c)), reducedCount(c)), c.inputs[0])],
  // Every maximal element gets the gradient, as in tfjs.
  ReduceMax: (c) => {
    const { g } = c;
    const isMax = g.cast(g.equal(c.inputs[0], keptDims(c, c.outputs[0])), 'float32');
    return [g.mul(isMax, keptDims(c, dy(c)))];
  },

  // y = softmax(x): dx = y · (dy − Σ dy·y).
  Softmax: (c) => {
    const { g } = c;
    const y = c.outputs[0];
    const d = dy(c);
    return [g.mul(y, g.sub(d, g.sum(g.mul(d, y), [axisOf(c.node, y.shape.length)], true)))];
  },
  // y = log softmax(x): dx = dy − exp(y) · Σ dy.
  LogSoftmax: (c) => {
    const { g } = c;
    const y = c.outputs[0];
    const d = dy(c);
    return [g.sub(d, g.mul(g.exp(y), g.sum(d, [axisOf(c.node, y.shape.length)], true)))];
  },
  // From the node's saved mean and 1/σ (outputs 1 and 2, added to the node when absent):
  // x̂ = (x − μ)/σ, dx = (1/σ) · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) with dx̂ = dy · γ.
  LayerNormalization: (c) => {
    const { g, node } = c;
    const [x, gamma, beta] = c.inputs;
    const last = x.shape.length - 1;
    if (axisOf(node, x.shape.length) !== last) throw new RangeError(`autodiff: LayerNormalization node '${node.name}' normalizes axis ${String(node.attrs.axis)}; the rule covers the last axis`);
    const statShape: Dim[] = [...x.shape.slice(0, -1), 1];
    const [mean, invStd] = node.outputs.length >= 3
      ? [g.value(node.outputs[1]), g.value(node.outputs[2])]
      : g.addOutputs(node.name, [{ dtype: 'float32', shape: statShape }, { dtype: 'float32', shape: statShape }]);
    const d = dy(c);
    const xHat = g.mul(g.sub(x, mean), invStd);
    let dx: GraphValue | null = null;
    if (c.needs[0]) {
      const dxHat = g.mul(d, gamma);
      const centered = g.sub(dxHat, g.mean(dxHat, [last], true));
      dx = g.mul(invStd, g.sub(centered, g.mul(xHat, g.mean(g.mul(dxHat, xHat), [last], true))));
    }
    return [dx, c.needs[1] ? unbroadcast(g, g.mul(d, xHat), gamma) : null, c.needs[2] ? unbroadcast(g, d, beta) : null];
  },
};
