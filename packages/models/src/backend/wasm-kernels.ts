import * as tf from '@tensorflow/tfjs-core';
import { batchMatMulGradWithFlags } from './gradients';

/**
 * Fixes that make training on the wasm backend work and run fast. Each has a test in
 * `wasm-kernels.test.ts`.
 *
 * (a) `UnsortedSegmentSum` for wasm: the gather (embedding) gradient needs it and the wasm backend
 *     ships no such kernel. The same linear-time kernel replaces the cpu backend's, which loops
 *     over every segment (one masked sum of all of x per vocabulary row: a BERT embedding
 *     gradient with a 21128-word vocabulary did not finish in 15 minutes).
 * (b) `BatchMatMul` gradient with explicit transposes: wasm runs its XNNPACK matMul only for
 *     products without a transpose flag; tfjs-core's gradient uses the flags, which drops wasm to
 *     a scalar loop ~10x slower (a training step measured 7.9 s -> 1.3 s with this override).
 * (c) `safeVariableGrads`: an exception inside `tf.variableGrads` leaks the tensors that the tape
 *     saved for the backward pass (about 190 for a BERT step); this helper disposes them.
 */

interface BackendLike {
  readSync(dataId: unknown): tf.backend_util.BackendValues;
  /** wasm's signature (cpu has a makeOutput with other arguments, so the kernel asks by backend name) */
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  /** cpu */
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
}

/** Plain-JS segment sum: out[segmentIds[i], ...] += x[i, ...]; ids outside [0, numSegments) are dropped, as in TF. */
export function unsortedSegmentSumValues(
  x: ArrayLike<number>,
  rowSize: number,
  segmentIds: ArrayLike<number>,
  numSegments: number,
): Float32Array {
  const out = new Float32Array(numSegments * rowSize);
  for (let i = 0; i < segmentIds.length; i++) {
    const s = segmentIds[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * rowSize;
    const dst = s * rowSize;
    for (let j = 0; j < rowSize; j++) out[dst + j] += x[src + j];
  }
  return out;
}

const segmentSumFor = (backendName: 'wasm' | 'cpu'): tf.KernelFunc => ({ inputs, attrs, backend }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const { numSegments } = attrs as unknown as { numSegments: number };
  const be = backend as unknown as BackendLike;
  if (x.dtype !== 'float32') throw new TypeError(`UnsortedSegmentSum: x must be float32, got ${x.dtype}`);
  if (segmentIds.shape.length !== 1 || segmentIds.shape[0] !== x.shape[0]) {
    throw new RangeError(`UnsortedSegmentSum: segmentIds must be 1-D of length x.shape[0]=${x.shape[0]}, got [${segmentIds.shape}]`);
  }
  const rowSize = x.shape.slice(1).reduce((a, b) => a * b, 1);
  const values = unsortedSegmentSumValues(be.readSync(x.dataId) as Float32Array, rowSize, be.readSync(segmentIds.dataId) as Int32Array, numSegments);
  const shape = [numSegments, ...x.shape.slice(1)];
  return backendName === 'wasm' ? be.makeOutput(shape, 'float32', undefined, values) : be.makeTensorInfo(shape, 'float32', values);
};
const SEGMENT_SUM = { wasm: segmentSumFor('wasm'), cpu: segmentSumFor('cpu') };

/** Registers (or replaces) our UnsortedSegmentSum for a backend whose package is loaded. */
function useOurSegmentSum(backendName: 'wasm' | 'cpu'): void {
  const current = tf.getKernel(tf.UnsortedSegmentSum, backendName);
  if (current?.kernelFunc === SEGMENT_SUM[backendName]) return;
  if (current !== undefined) tf.unregisterKernel(tf.UnsortedSegmentSum, backendName);
  tf.registerKernel({ kernelName: tf.UnsortedSegmentSum, backendName, kernelFunc: SEGMENT_SUM[backendName] });
}

/** True when our linear-time UnsortedSegmentSum is the registered kernel for this backend. */
export function usesFastSegmentSum(backendName: 'wasm' | 'cpu'): boolean {
  return tf.getKernel(tf.UnsortedSegmentSum, backendName)?.kernelFunc === SEGMENT_SUM[backendName];
}

/** Swaps the last two axes with an explicit Transpose (no matMul flag). */
function transposeLast2(t: tf.Tensor): tf.Tensor {
  const r = t.rank;
  const perm = [...Array(r).keys()];
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(t, perm);
}

/** Sums a gradient back to `shape` when matMul broadcast the batch dims. */
function toShape(g: tf.Tensor, shape: number[]): tf.Tensor {
  let r = g;
  if (r.rank > shape.length) r = tf.sum(r, [...Array(r.rank - shape.length).keys()]);
  const axes = tf.backend_util.getReductionAxes(shape, r.shape);
  return axes.length > 0 ? tf.reshape(tf.sum(r, axes), shape) : tf.reshape(r, shape);
}

/** BatchMatMul gradient whose products carry no transpose flag (see (b) above). */
export const batchMatMulGradExplicitTranspose: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
    const [a, b] = saved;
    const g = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    const A = transposeA ? transposeLast2(a) : a; // as used in the product: [.., m, k]
    const B = transposeB ? transposeLast2(b) : b; // [.., k, n]
    // dA_used = dy @ B^T, dB_used = A^T @ dy; undo the forward transposes afterwards.
    const dA = () => {
      const d = tf.matMul(g, transposeLast2(B));
      return toShape(transposeA ? transposeLast2(d) : d, a.shape);
    };
    const dB = () => {
      const d = tf.matMul(transposeLast2(A), g);
      return toShape(transposeB ? transposeLast2(d) : d, b.shape);
    };
    return { a: dA, b: dB };
  },
};

export type MatMulGradient = 'explicit-transpose' | 'tfjs-flags';

/** Chooses the BatchMatMul gradient; `initBackend` selects 'explicit-transpose'. */
export function setMatMulGradient(mode: MatMulGradient): void {
  if (mode !== 'explicit-transpose' && mode !== 'tfjs-flags') {
    throw new RangeError(`setMatMulGradient: mode must be 'explicit-transpose' or 'tfjs-flags', got ${String(mode)}`);
  }
  tf.registerGradient(mode === 'explicit-transpose' ? batchMatMulGradExplicitTranspose : batchMatMulGradWithFlags);
}

/**
 * Registers the kernel fixes and the explicit-transpose matMul gradient. Call after a backend
 * package is imported (importing tfjs-backend-cpu registers its own UnsortedSegmentSum);
 * `initBackend` does. Idempotent.
 */
export function registerKernelFixes(): void {
  // A backend's kernels are in the registry once its package is imported; fix only those.
  if (tf.getKernelsForBackend('wasm').length > 0) useOurSegmentSum('wasm');
  if (tf.getKernelsForBackend('cpu').length > 0) useOurSegmentSum('cpu');
  setMatMulGradient('explicit-transpose');
}
