import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@proj/core';
import type { Dim, DType, Ops } from './ops';
import { maskedCrossEntropy } from './cross-entropy';
import { dropoutMask } from './dropout-mask';
import type { ParameterStore } from './parameter-store';

function concreteDims(shape: Dim[], op: string): number[] {
  return shape.map((d, i) => {
    if (typeof d !== 'number') throw new TypeError(`TfOps.${op}: dim ${i} is symbolic ('${d}'); eager tensors have concrete shapes`);
    return d;
  });
}

function checkAxes(x: tf.Tensor, axes: number[], op: string): void {
  for (const a of axes) {
    if (!Number.isInteger(a) || a < -x.rank || a >= x.rank) throw new RangeError(`TfOps.${op}: axis ${a} out of range for rank ${x.rank}`);
  }
}

/**
 * Eager `Ops` on tfjs tensors: differentiable through tfjs autograd on any backend. Call inside
 * `tf.tidy` (or a trainer's step) so intermediates are freed. Choices made for wasm: products
 * are 2-D when both inputs are, transposes are explicit, nothing uses matMul's transpose flags.
 */
export class TfOps implements Ops<tf.Tensor> {
  readonly kind = 'tfjs';

  constructor(private readonly params: ParameterStore) {}

  shape(x: tf.Tensor): Dim[] {
    return x.shape;
  }
  dtype(x: tf.Tensor): DType {
    if (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool') throw new TypeError(`TfOps.dtype: unsupported dtype ${x.dtype}`);
    return x.dtype;
  }

  param(name: string): tf.Tensor {
    return this.params.get(name);
  }
  constant(values: ArrayLike<number>, shape: number[], dtype: DType = 'float32'): tf.Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (values.length !== n) throw new RangeError(`TfOps.constant: ${values.length} values do not fill shape [${shape}] (${n})`);
    return tf.tensor(dtype === 'float32' ? Float32Array.from(values) : Int32Array.from(values), shape, dtype);
  }
  scalar(value: number, dtype: DType = 'float32'): tf.Tensor {
    return tf.scalar(value, dtype);
  }

  matMul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    if (a.rank < 2 || b.rank < 2) throw new RangeError(`TfOps.matMul: a and b need rank >= 2, got [${a.shape}] and [${b.shape}]`);
    const k = a.shape[a.rank - 1];
    if (k !== b.shape[b.rank - 2]) throw new RangeError(`TfOps.matMul: inner dims differ: a [${a.shape}], b [${b.shape}]`);
    return tf.matMul(a, b);
  }

  add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.add(a, b);
  }
  sub(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.sub(a, b);
  }
  mul(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.mul(a, b);
  }
  div(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.div(a, b);
  }
  maximum(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.maximum(a, b);
  }
  neg(x: tf.Tensor): tf.Tensor {
    return tf.neg(x);
  }
  equal(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    return tf.equal(a, b);
  }
  where(condition: tf.Tensor, a: tf.Tensor, b: tf.Tensor): tf.Tensor {
    if (condition.dtype !== 'bool') throw new TypeError(`TfOps.where: condition must be bool, got ${condition.dtype}`);
    // tfjs 'where' needs equal shapes: broadcast all three first.
    const shape = tf.backend_util.assertAndGetBroadcastShape(tf.backend_util.assertAndGetBroadcastShape(condition.shape, a.shape), b.shape);
    const bc = (t: tf.Tensor) => (tf.util.arraysEqual(t.shape, shape) ? t : tf.broadcastTo(t, shape));
    return tf.where(bc(condition), bc(a), bc(b));
  }
  cast(x: tf.Tensor, dtype: DType): tf.Tensor {
    return tf.cast(x, dtype);
  }

  exp(x: tf.Tensor): tf.Tensor {
    return tf.exp(x);
  }
  log(x: tf.Tensor): tf.Tensor {
    return tf.log(x);
  }
  sqrt(x: tf.Tensor): tf.Tensor {
    return tf.sqrt(x);
  }
  erf(x: tf.Tensor): tf.Tensor {
    return tf.erf(x);
  }
  tanh(x: tf.Tensor): tf.Tensor {
    return tf.tanh(x);
  }
  sigmoid(x: tf.Tensor): tf.Tensor {
    return tf.sigmoid(x);
  }
  relu(x: tf.Tensor): tf.Tensor {
    return tf.relu(x);
  }
  gelu(x: tf.Tensor): tf.Tensor {
    return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
  }

  reshape(x: tf.Tensor, shape: Dim[]): tf.Tensor {
    return tf.reshape(x, concreteDims(shape, 'reshape'));
  }
  transpose(x: tf.Tensor, perm: number[]): tf.Tensor {
    if (perm.length !== x.rank) throw new RangeError(`TfOps.transpose: perm [${perm}] does not match rank ${x.rank}`);
    return tf.transpose(x, perm);
  }
  concat(xs: tf.Tensor[], axis: number): tf.Tensor {
    if (xs.length === 0) throw new RangeError('TfOps.concat: xs is empty');
    return xs.length === 1 ? xs[0] : tf.concat(xs, axis);
  }
  slice(x: tf.Tensor, begin: number[], size: Dim[]): tf.Tensor {
    if (begin.length !== x.rank || size.length !== x.rank) {
      throw new RangeError(`TfOps.slice: begin [${begin}] and size [${size}] must have rank ${x.rank}`);
    }
    return tf.slice(x, begin, concreteDims(size, 'slice'));
  }
  gather(table: tf.Tensor, indices: tf.Tensor): tf.Tensor {
    if (indices.dtype !== 'int32') throw new TypeError(`TfOps.gather: indices must be int32, got ${indices.dtype}`);
    // Flatten so the gradient (UnsortedSegmentSum over rows) sees 1-D ids on every backend.
    const flat = tf.gather(table, indices.rank === 1 ? indices : tf.reshape(indices, [indices.size]));
    return indices.rank === 1 ? flat : tf.reshape(flat, [...indices.shape, ...table.shape.slice(1)]);
  }

  sum(x: tf.Tensor, axes: number[], keepDims = false): tf.Tensor {
    checkAxes(x, axes, 'sum');
    return tf.sum(x, axes, keepDims);
  }
  mean(x: tf.Tensor, axes: number[], keepDims = false): tf.Tensor {
    checkAxes(x, axes, 'mean');
    return tf.mean(x, axes, keepDims);
  }
  max(x: tf.Tensor, axes: number[], keepDims = false): tf.Tensor {
    checkAxes(x, axes, 'max');
    return tf.max(x, axes, keepDims);
  }

  softmax(x: tf.Tensor): tf.Tensor {
    return tf.softmax(x, -1);
  }
  logSoftmax(x: tf.Tensor): tf.Tensor {
    // tfjs's logSoftmax carries its own (custom) gradient: dy - sum(dy) * softmax.
    return tf.logSoftmax(x, -1);
  }
  layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
    const h = x.shape[x.rank - 1] as number;
    if (gamma.size !== h || beta.size !== h) throw new RangeError(`TfOps.layerNorm: gamma/beta size ${gamma.size}/${beta.size} != last dim ${h}`);
    const mu = tf.mean(x, -1, true);
    const centered = tf.sub(x, mu);
    const variance = tf.mean(tf.square(centered), -1, true);
    return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
  }
  crossEntropy(logits: tf.Tensor, targets: tf.Tensor, ignoreIndex = -100): tf.Tensor {
    if (logits.rank !== 2) throw new RangeError(`TfOps.crossEntropy: logits must be [N, V], got [${logits.shape}]`);
    if (targets.rank !== 1 || targets.shape[0] !== logits.shape[0] || targets.dtype !== 'int32') {
      throw new RangeError(`TfOps.crossEntropy: targets must be int32 [${logits.shape[0]}], got ${targets.dtype} [${targets.shape}]`);
    }
    const [rows, vocab] = logits.shape as [number, number];
    // log p[i, target_i] gathered by flat index i · V + target_i: no [N, V] one-hot (a causal LM's
    // B·L × vocab would be the largest tensor of its step); exact, as the one-hot product was.
    const rowStarts = tf.mul(tf.range(0, rows, 1, 'int32'), tf.scalar(vocab, 'int32'));
    return maskedCrossEntropy(this, logits, targets, ignoreIndex, (logProbs, safeTargets) => tf.gather(tf.reshape(logProbs, [rows * vocab]), tf.add(rowStarts, safeTargets)));
  }
  dropout(x: tf.Tensor, rate: number, rng: Rng): tf.Tensor {
    if (!(rate >= 0 && rate < 1)) throw new RangeError(`TfOps.dropout: rate must be in [0, 1), got ${rate}`);
    if (rate === 0) return x;
    return tf.mul(x, tf.tensor(dropoutMask(x.size, rate, rng), x.shape));
  }
}
