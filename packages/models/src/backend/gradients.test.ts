import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from './init-backend';
import { GRADIENT_KERNELS } from './gradients';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

/** Central finite differences of a scalar function, element by element. */
function numericGrad(f: (x: tf.Tensor) => tf.Scalar, x: Float32Array, shape: number[], eps = 1e-2): Float32Array {
  const g = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const plus = x.slice();
    const minus = x.slice();
    plus[i] += eps;
    minus[i] -= eps;
    const fp = tf.tidy(() => f(tf.tensor(plus, shape)).dataSync()[0]);
    const fm = tf.tidy(() => f(tf.tensor(minus, shape)).dataSync()[0]);
    g[i] = (fp - fm) / (2 * eps);
  }
  return g;
}

function randn(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * scale);
}

const rng = new Rng(7);
const W = (shape: number[]) => tf.tensor(randn(new Rng(shape.length * 31 + shape[0]), shape.reduce((a, b) => a * b, 1)), shape);
// Each case: kernel under test, input shape, forward producing a tensor (weighted-summed into a scalar).
const cases: { kernel: string; shape: number[]; fn: (x: tf.Tensor) => tf.Tensor; positive?: boolean }[] = [
  { kernel: 'Add', shape: [2, 3], fn: (x) => tf.add(x, tf.ones([3])) },
  { kernel: 'Sub', shape: [2, 3], fn: (x) => tf.sub(tf.sum(x, [0]), x) },
  { kernel: 'Multiply', shape: [2, 3], fn: (x) => tf.mul(x, tf.reshape(tf.slice(x, [0, 0], [1, 3]), [3])) },
  { kernel: 'RealDiv', shape: [2, 3], fn: (x) => tf.div(tf.ones([3]), tf.add(x, 3)), positive: true },
  { kernel: 'Maximum', shape: [2, 3], fn: (x) => tf.maximum(x, 0.1) },
  { kernel: 'Minimum', shape: [2, 3], fn: (x) => tf.minimum(x, 0.1) },
  { kernel: 'Neg', shape: [4], fn: (x) => tf.neg(x) },
  { kernel: 'Square', shape: [4], fn: (x) => tf.square(x) },
  { kernel: 'Sqrt', shape: [4], fn: (x) => tf.sqrt(x), positive: true },
  { kernel: 'Rsqrt', shape: [4], fn: (x) => tf.rsqrt(x), positive: true },
  { kernel: 'Exp', shape: [4], fn: (x) => tf.exp(x) },
  { kernel: 'Log', shape: [4], fn: (x) => tf.log(x), positive: true },
  { kernel: 'Erf', shape: [4], fn: (x) => tf.erf(x) },
  { kernel: 'Tanh', shape: [4], fn: (x) => tf.tanh(x) },
  { kernel: 'Sigmoid', shape: [4], fn: (x) => tf.sigmoid(x) },
  { kernel: 'Relu', shape: [4], fn: (x) => tf.relu(x) },
  { kernel: 'Abs', shape: [4], fn: (x) => tf.abs(x) },
  { kernel: 'Cast', shape: [4], fn: (x) => tf.mul(tf.cast(x, 'float32'), 2) },
  { kernel: 'Reshape', shape: [2, 3], fn: (x) => tf.mul(tf.reshape(x, [3, 2]), W([3, 2])) },
  { kernel: 'Transpose', shape: [2, 3, 4], fn: (x) => tf.mul(tf.transpose(x, [2, 0, 1]), W([4, 2, 3])) },
  { kernel: 'Concat', shape: [2, 3], fn: (x) => tf.mul(tf.concat([x, tf.square(x)], 1), W([2, 6])) },
  { kernel: 'Slice', shape: [3, 4], fn: (x) => tf.slice(x, [1, 1], [2, 2]) },
  { kernel: 'GatherV2', shape: [5, 3], fn: (x) => tf.gather(x, tf.tensor1d([4, 0, 4, 2], 'int32')) },
  { kernel: 'Select', shape: [2, 3], fn: (x) => tf.where(tf.greater(W([2, 3]), 0), x, tf.square(x)) },
  { kernel: 'Softmax', shape: [2, 5], fn: (x) => tf.softmax(x) },
  { kernel: 'Sum', shape: [2, 3, 4], fn: (x) => tf.sum(x, [1]) },
  { kernel: 'Mean', shape: [2, 3, 4], fn: (x) => tf.mean(x, [0, 2], true) },
  { kernel: 'Max', shape: [3, 4], fn: (x) => tf.max(x, [1]) },
  { kernel: 'Equal', shape: [3, 4], fn: (x) => tf.mul(x, tf.cast(tf.equal(x, tf.max(x, [1], true)), 'float32')) },
  { kernel: 'Tile', shape: [2, 3], fn: (x) => tf.tile(x, [2, 3]) },
  { kernel: 'BroadcastTo', shape: [3, 1], fn: (x) => tf.broadcastTo(x, [2, 3, 4]) },
  { kernel: 'BatchMatMul', shape: [2, 3, 4], fn: (x) => tf.matMul(x, W([2, 4, 5])) },
];

describe('registerGradients', () => {
  it('gives every input its own gradient tensor (no aliasing between inputs or with dy)', () => {
    const dy = tf.ones([2, 3]);
    const a = tf.ones([2, 3]);
    const b = tf.ones([2, 3]);
    for (const kernel of ['Add', 'Sub', 'Multiply', 'RealDiv', 'Maximum', 'Minimum']) {
      const g = tf.getGradient(kernel)!.gradFunc(dy, [a, b], {});
      const [ga, gb] = [g.a(), g.b()];
      expect(ga === gb || ga === dy || gb === dy, kernel).toBe(false);
    }
    tf.dispose([dy, a, b]);
  });

  it('survives a variable used through the same Add twice in one gradient (the tape frees each input gradient)', () => {
    const v = tf.variable(tf.tensor1d([1, 2]), true, 'alias-v');
    const w = tf.variable(tf.tensor1d([3, 4]), true, 'alias-w');
    const { value, grads } = tf.variableGrads(() => {
      const s = tf.add(v, w);
      return tf.sum(tf.add(tf.mul(s, s), s)) as tf.Scalar;
    }, [v, w]);
    // d/dv sum(s^2 + s) = 2s + 1 with s = v + w
    expect(Array.from(grads['alias-v'].dataSync())).toEqual([9, 13]);
    expect(Array.from(grads['alias-w'].dataSync())).toEqual([9, 13]);
    tf.dispose([v, w, value, grads['alias-v'], grads['alias-w']]);
  });

  it('covers every kernel in the table', () => {
    for (const c of cases) expect(GRADIENT_KERNELS).toContain(c.kernel);
  });

  it.each(cases)('$kernel gradient matches finite differences', ({ shape, fn, positive }) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = randn(rng, n);
    if (positive) for (let i = 0; i < n; i++) x[i] = Math.abs(x[i]) + 0.5;
    const loss = (t: tf.Tensor) => tf.tidy(() => {
      const y = fn(t);
      return tf.sum(tf.mul(y, W(y.shape))) as tf.Scalar;
    });
    const analytic = tf.tidy(() => tf.grad(loss)(tf.tensor(x, shape)).dataSync().slice());
    const numeric = numericGrad(loss, x, shape);
    for (let i = 0; i < n; i++) expect(analytic[i]).toBeCloseTo(numeric[i], 1);
    const maxDiff = Math.max(...analytic.map((a, i) => Math.abs(a - numeric[i])));
    expect(maxDiff).toBeLessThan(2e-2 * Math.max(1, ...numeric.map(Math.abs)));
  });
});
