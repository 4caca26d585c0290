import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradients for the kernels our `TfOps` emits.
 *
 * Why here: tfjs-core's Node entry (`dist/tf-core.node.js`) registers no gradients, and its
 * `dist/register_all_gradients.js` is ESM with extensionless imports that Node cannot load
 * (`ERR_MODULE_NOT_FOUND .../gradients/Abs_grad`). The formulas follow tfjs-core's own
 * `src/gradients/*_grad.ts` (Apache-2.0). Each is checked against finite differences in
 * `gradients.test.ts`.
 */

type Saved = tf.Tensor[];
type Attrs = tf.NamedAttrMap;

/**
 * Sums `dy` over the axes that broadcasting added or stretched, back to `shape`. Always returns a
 * NEW tensor object (a reshape shares the data, reference-counted): the tape disposes each input
 * gradient after accumulating it, so returning `dy` itself for two inputs (Add's a and b) frees
 * it twice ("Cannot read properties of undefined (reading 'backend')").
 */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, dy.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(dy, axes) : dy, shape);
}

/** Reshapes a reduced tensor so it broadcasts against the input again (keepDims shape). */
function keepDimsShape(y: tf.Tensor, xShape: number[], axes: number[]): tf.Tensor {
  return tf.reshape(y, xShape.map((d, i) => (axes.includes(i) ? 1 : d)));
}

function binary(
  kernelName: string,
  da: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  db: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved: Saved) => {
      const [a, b] = saved;
      const g = dy as tf.Tensor;
      return { a: () => unbroadcast(da(g, a, b), a.shape), b: () => unbroadcast(db(g, a, b), b.shape) };
    },
  };
}

/** Unary gradient from the saved input (`x`) or the saved output (`y`). */
function unary(kernelName: string, save: 'x' | 'y', d: (dy: tf.Tensor, saved: tf.Tensor) => tf.Tensor): tf.GradConfig {
  return {
    kernelName,
    ...(save === 'x' ? { inputsToSave: ['x'] } : { outputsToSave: [true] }),
    gradFunc: (dy, saved: Saved) => ({ x: () => d(dy as tf.Tensor, saved[0]) }),
  };
}

const f32 = (t: tf.Tensor) => tf.cast(t, 'float32');

/** The standard BatchMatMul gradient (with transpose flags, as tfjs-core writes it). */
export const batchMatMulGradWithFlags: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved: Saved, attrs?: Attrs) => {
    const [a, b] = saved;
    const g = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB) return { a: () => tf.matMul(g, b, false, true), b: () => tf.matMul(a, g, true, false) };
    if (!transposeA && transposeB) return { a: () => tf.matMul(g, b, false, false), b: () => tf.matMul(g, a, true, false) };
    if (transposeA && !transposeB) return { a: () => tf.matMul(b, g, false, true), b: () => tf.matMul(a, g, false, false) };
    return { a: () => tf.matMul(b, g, true, true), b: () => tf.matMul(g, a, true, true) };
  },
};

const GRADIENTS: tf.GradConfig[] = [
  binary(tf.Add, (dy) => dy, (dy) => dy),
  binary(tf.Sub, (dy) => dy, (dy) => tf.neg(dy)),
  binary(tf.Multiply, (dy, _a, b) => tf.mul(dy, f32(b)), (dy, a) => tf.mul(dy, f32(a))),
  binary(tf.RealDiv, (dy, _a, b) => tf.div(dy, f32(b)), (dy, a, b) => tf.neg(tf.div(tf.mul(dy, f32(a)), tf.square(f32(b))))),
  binary(tf.Maximum, (dy, a, b) => tf.mul(dy, f32(tf.greaterEqual(a, b))), (dy, a, b) => tf.mul(dy, f32(tf.less(a, b)))),
  binary(tf.Minimum, (dy, a, b) => tf.mul(dy, f32(tf.lessEqual(a, b))), (dy, a, b) => tf.mul(dy, f32(tf.greater(a, b)))),
  unary(tf.Neg, 'x', (dy) => tf.neg(dy)),
  unary(tf.Square, 'x', (dy, x) => tf.mul(dy, tf.mul(f32(x), 2))),
  unary(tf.Sqrt, 'x', (dy, x) => tf.div(dy, tf.mul(tf.sqrt(f32(x)), 2))),
  unary(tf.Rsqrt, 'x', (dy, x) => tf.neg(tf.div(dy, tf.mul(tf.pow(f32(x), 1.5), 2)))),
  unary(tf.Exp, 'y', (dy, y) => tf.mul(dy, y)),
  unary(tf.Log, 'x', (dy, x) => tf.div(dy, f32(x))),
  unary(tf.Erf, 'x', (dy, x) => tf.mul(dy, tf.mul(tf.exp(tf.neg(tf.square(x))), 2 / Math.sqrt(Math.PI)))),
  unary(tf.Tanh, 'y', (dy, y) => tf.mul(dy, tf.sub(1, tf.square(y)))),
  unary(tf.Sigmoid, 'y', (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))),
  unary(tf.Relu, 'x', (dy, x) => tf.mul(dy, f32(tf.greater(x, 0)))),
  unary(tf.Abs, 'x', (dy, x) => tf.mul(dy, tf.sign(f32(x)))),
  { kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => (dy as tf.Tensor).clone() }) },
  { kernelName: tf.Identity, gradFunc: (dy) => ({ x: () => f32(dy as tf.Tensor) }) },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, saved: Saved) => ({ x: () => tf.reshape(dy as tf.Tensor, saved[0].shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs?: Attrs) => {
      const perm = (attrs as unknown as { perm: number[] }).perm;
      return { x: () => tf.transpose(dy as tf.Tensor, tf.backend_util.getUndoAxesPermutation(perm)) };
    },
  },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved: Saved, attrs?: Attrs) => {
      const axis = tf.util.parseAxisParam((attrs as unknown as { axis: number }).axis, saved[0].shape)[0];
      const parts = tf.split(dy as tf.Tensor, saved.map((t) => t.shape[axis]), axis);
      return Object.fromEntries(parts.map((p, i) => [i, () => p]));
    },
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, saved: Saved, attrs?: Attrs) => {
      const x = saved[0];
      const g = dy as tf.Tensor;
      const { begin } = attrs as unknown as { begin: number[] };
      const [begin_] = tf.slice_util.parseSliceParams(x, begin, g.shape);
      const paddings = x.shape.map((d, i) => [begin_[i], d - begin_[i] - g.shape[i]] as [number, number]);
      return { x: () => tf.pad(g, paddings) };
    },
  },
  {
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, saved: Saved, attrs?: Attrs) => {
      const [x, indices] = saved;
      const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
      if (tf.util.parseAxisParam(axis, x.shape)[0] !== 0 || batchDims !== 0) {
        throw new Error(`GatherV2 gradient: only axis 0 without batchDims is supported, got axis ${axis}, batchDims ${batchDims}`);
      }
      // Rows of dy go back to the table rows they came from; repeated indices add up.
      const rows = tf.reshape(dy as tf.Tensor, [indices.size, ...x.shape.slice(1)]);
      return { x: () => tf.unsortedSegmentSum(rows, tf.reshape(indices, [indices.size]), x.shape[0]), indices: () => tf.zerosLike(indices) };
    },
  },
  {
    kernelName: tf.Select,
    inputsToSave: ['condition'],
    gradFunc: (dy, saved: Saved) => {
      const [cond] = saved;
      const g = dy as tf.Tensor;
      return {
        // float32 zeros: the tape wants float gradients, and the condition may come from
        // parameters (a comparison, as MoE routing), so this one is not always discarded.
        condition: () => tf.zeros(cond.shape),
        t: () => tf.mul(g, f32(cond)),
        e: () => tf.mul(g, f32(tf.logicalNot(cond))),
      };
    },
  },
  {
    kernelName: tf.Softmax,
    outputsToSave: [true],
    gradFunc: (dy, saved: Saved, attrs?: Attrs) => {
      const [y] = saved;
      const { dim } = attrs as unknown as { dim: number };
      const g = dy as tf.Tensor;
      const dyTimesY = tf.mul(g, y);
      return { logits: () => tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, [dim], true), y)) };
    },
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, saved: Saved, attrs?: Attrs) => {
      const x = saved[0];
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number[] }).axis, x.shape);
      return { x: () => tf.mul(keepDimsShape(dy as tf.Tensor, x.shape, axes), tf.ones(x.shape)) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, saved: Saved, attrs?: Attrs) => {
      const x = saved[0];
      const axes = tf.util.parseAxisParam((attrs as unknown as { axis: number[] }).axis, x.shape);
      const count = axes.reduce((n, a) => n * x.shape[a], 1);
      return { x: () => tf.div(tf.mul(keepDimsShape(dy as tf.Tensor, x.shape, axes), tf.ones(x.shape)), count) };
    },
  },
  {
    kernelName: tf.Max,
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved: Saved, attrs?: Attrs) => {
      const [x, y] = saved;
      const axes = tf.util.parseAxisParam((attrs as unknown as { reductionIndices: number[] }).reductionIndices, x.shape);
      const yk = keepDimsShape(y, x.shape, axes);
      const dyk = keepDimsShape(dy as tf.Tensor, x.shape, axes);
      // As tfjs-core: every position equal to the max receives the gradient.
      return { x: () => tf.mul(dyk, f32(tf.equal(x, yk))) };
    },
  },
  {
    kernelName: tf.Tile,
    inputsToSave: ['x'],
    gradFunc: (dy, saved: Saved) => {
      const x = saved[0];
      const g = dy as tf.Tensor;
      // Fold each tiled axis into [reps, size] and sum the reps away.
      const folded = g.shape.flatMap((d, i) => [d / x.shape[i], x.shape[i]]);
      const repAxes = x.shape.map((_, i) => 2 * i);
      return { x: () => tf.sum(tf.reshape(g, folded), repAxes) };
    },
  },
  {
    kernelName: tf.BroadcastTo,
    gradFunc: (dy, _saved, attrs?: Attrs) => {
      const { inputShape } = attrs as unknown as { inputShape: number[] };
      const g = dy as tf.Tensor;
      const padded = [...Array(g.rank - inputShape.length).fill(1), ...inputShape];
      return { x: () => tf.reshape(unbroadcast(g, padded), inputShape) };
    },
  },
  {
    // A comparison is flat almost everywhere: zero for both inputs. tfjs-core has no rule, so a
    // mask computed from parameters (MoE top-k routing) would stop backprop with an error.
    kernelName: tf.Equal,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy, saved: Saved) => ({ a: () => tf.zeros(saved[0].shape), b: () => tf.zeros(saved[1].shape) }),
  },
  batchMatMulGradWithFlags,
];

/** Kernel names that `registerGradients` covers (tests check every TfOps kernel is in here). */
export const GRADIENT_KERNELS: readonly string[] = GRADIENTS.map((g) => g.kernelName);

/** Registers the gradients above (idempotent: re-registering replaces silently). */
export function registerGradients(): void {
  for (const g of GRADIENTS) tf.registerGradient(g);
}
