import type { Rng } from '@proj/core';

/**
 * A dimension: a number, or (only when recording a graph) a symbol such as 'batch', 'seq' or a
 * product of symbols and numbers ('batch*seq', '4*seq').
 */
export type Dim = number | string;

export type DType = 'float32' | 'int32' | 'bool';

/**
 * The operations every model in this package is written against, once. `T` is an opaque tensor
 * handle: a tfjs `Tensor` for `TfOps` (eager, differentiable) or a `GraphValue` for `GraphOps`
 * (records an IR for ONNX export). Shapes broadcast as in NumPy. Products take no transpose
 * flags: transposes are explicit ops, which is what the wasm backend runs fast.
 */
export interface Ops<T> {
  /** 'tfjs' or 'graph'; layers never branch on it, tests and logs read it. */
  readonly kind: string;

  // Introspection
  shape(x: T): Dim[];
  dtype(x: T): DType;

  // Parameters and constants
  /** The parameter with this Hugging Face name (a Variable, or an initializer reference). */
  param(name: string): T;
  constant(values: ArrayLike<number>, shape: number[], dtype?: DType): T;
  scalar(value: number, dtype?: DType): T;

  // Linear algebra
  /** [...batch, m, k] x [...batch, k, n] -> [...batch, m, n]; 2-D x 2-D is the fast path. */
  matMul(a: T, b: T): T;

  // Elementwise, broadcasting
  add(a: T, b: T): T;
  sub(a: T, b: T): T;
  mul(a: T, b: T): T;
  div(a: T, b: T): T;
  maximum(a: T, b: T): T;
  neg(x: T): T;
  equal(a: T, b: T): T;
  where(condition: T, a: T, b: T): T;
  cast(x: T, dtype: DType): T;

  // Elementwise math
  exp(x: T): T;
  log(x: T): T;
  sqrt(x: T): T;
  erf(x: T): T;
  tanh(x: T): T;
  sigmoid(x: T): T;
  relu(x: T): T;
  /** GELU, exact (erf) form: x * 0.5 * (1 + erf(x / sqrt(2))), as BERT's "gelu". */
  gelu(x: T): T;

  // Shape
  /** Target may hold one -1 (inferred) and, in graphs, symbolic dims taken from `shape()`. */
  reshape(x: T, shape: Dim[]): T;
  transpose(x: T, perm: number[]): T;
  concat(xs: T[], axis: number): T;
  /** size -1 runs to the end of that axis; a symbolic size is allowed in graphs. */
  slice(x: T, begin: number[], size: Dim[]): T;
  /** Rows of `table` (axis 0) at integer `indices`: indices.shape ++ table.shape[1:]. */
  gather(table: T, indices: T): T;

  // Reductions
  sum(x: T, axes: number[], keepDims?: boolean): T;
  mean(x: T, axes: number[], keepDims?: boolean): T;
  max(x: T, axes: number[], keepDims?: boolean): T;

  // Normalization and probabilities (last axis)
  softmax(x: T): T;
  logSoftmax(x: T): T;
  layerNorm(x: T, gamma: T, beta: T, eps: number): T;
  /** Mean cross-entropy of logits [N, V] against int targets [N], skipping targets equal to ignoreIndex. */
  crossEntropy(logits: T, targets: T, ignoreIndex?: number): T;
  /** Inverted dropout with a mask drawn from `rng`; identity when rate is 0 or in a recorded graph. */
  dropout(x: T, rate: number, rng: Rng): T;
}
