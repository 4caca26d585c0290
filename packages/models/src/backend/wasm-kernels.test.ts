import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init-backend';
import { safeVariableGrads } from '@proj/trainer';
import { batchMatMulGradExplicitTranspose, setMatMulGradient, unsortedSegmentSumValues, usesFastSegmentSum } from './wasm-kernels';
import { batchMatMulGradWithFlags } from './gradients';

let wasmOk = false;
beforeAll(async () => {
  try {
    await initBackend({ backend: 'wasm' });
    wasmOk = true;
  } catch (err) {
    console.warn(`wasm backend unavailable in this vitest run, wasm-only checks fall back to cpu: ${(err as Error).message}`);
    await initBackend({ backend: 'cpu' });
  }
});
afterAll(() => setMatMulGradient('explicit-transpose'));

describe('(a) UnsortedSegmentSum for wasm', () => {
  it('sums rows by segment id and drops out-of-range ids (plain JS)', () => {
    const out = unsortedSegmentSumValues([1, 2, 3, 4, 5, 6, 7, 8], 2, [2, 0, 2, -1], 3);
    expect(Array.from(out)).toEqual([3, 4, 0, 0, 1 + 5, 2 + 6]);
  });

  it('gives the embedding (gather) gradient on the active backend', () => {
    const table = tf.variable(tf.tensor2d([[1, 2], [3, 4], [5, 6]]), true, 'table-a');
    const ids = tf.tensor1d([2, 0, 2], 'int32');
    const { grads, value } = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, ids), tf.tensor2d([[1, 10], [100, 1000], [2, 20]]))), [table]);
    expect(tf.getBackend()).toBe(wasmOk ? 'wasm' : 'cpu');
    expect(Array.from(grads['table-a'].dataSync())).toEqual([100, 1000, 0, 0, 3, 30]);
    tf.dispose([table, ids, value, grads['table-a']]);
  });
});

describe('(a) the linear-time UnsortedSegmentSum also replaces the cpu kernel', () => {
  it('is registered for cpu after initBackend and gives a large-vocabulary embedding gradient', async () => {
    await initBackend({ backend: 'cpu' });
    // tfjs-backend-cpu's own kernel does one masked sum of all of x per segment (O(vocab x N x H)).
    expect(usesFastSegmentSum('cpu')).toBe(true);
    const vocab = 21128;
    const ids = Int32Array.from({ length: 512 }, (_, i) => (i * 7919) % vocab);
    const dy = Float32Array.from({ length: 512 * 8 }, (_, i) => ((i % 13) - 6) / 7);
    const want = unsortedSegmentSumValues(dy, 8, ids, vocab);
    const got = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(dy, [512, 8]), tf.tensor1d(ids, 'int32'), vocab).dataSync());
    expect(got.length).toBe(vocab * 8);
    let maxDiff = 0;
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want[i]));
    expect(maxDiff).toBeLessThan(1e-6);
    if (wasmOk) {
      await initBackend({ backend: 'wasm' });
      expect(usesFastSegmentSum('wasm')).toBe(true);
    }
  });
});

describe('(b) BatchMatMul gradient with explicit transposes', () => {
  const flagCases = [
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ] as const;
  it.each(flagCases)('matches the tfjs-core gradient for transposeA=%s transposeB=%s, batched', (ta, tb) => {
    const a = tf.randomNormal(ta ? [2, 4, 3] : [2, 3, 4], 0, 1, 'float32', 1);
    const b = tf.randomNormal(tb ? [2, 5, 4] : [2, 4, 5], 0, 1, 'float32', 2);
    const w = tf.randomNormal([2, 3, 5], 0, 1, 'float32', 3);
    const grads = (mode: 'explicit-transpose' | 'tfjs-flags') => {
      setMatMulGradient(mode);
      return tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, ta, tb), w)))([a, b]).map((g) => g.arraySync());
    };
    const mine = grads('explicit-transpose');
    const ref = grads('tfjs-flags');
    expect(tf.util.flatten(mine[0] as number[])).toHaveLength(24);
    tf.util.flatten(mine as unknown as number[]).forEach((v, i) => expect(v).toBeCloseTo(tf.util.flatten(ref as unknown as number[])[i], 4));
  });

  it('emits no transposed matMul: every BatchMatMul in the backward pass has both flags off', () => {
    const record = (mode: 'explicit-transpose' | 'tfjs-flags') => {
      setMatMulGradient(mode);
      const engine = tf.engine() as unknown as { runKernel: (name: string, inputs: unknown, attrs?: Record<string, unknown>) => unknown };
      const original = engine.runKernel;
      const flags: boolean[] = [];
      engine.runKernel = function (name, inputs, attrs) {
        if (name === 'BatchMatMul') flags.push(Boolean(attrs?.transposeA) || Boolean(attrs?.transposeB));
        return original.call(this, name, inputs, attrs);
      };
      try {
        tf.tidy(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.matMul(x, y)))([tf.ones([3, 4]), tf.ones([4, 5])]));
      } finally {
        engine.runKernel = original;
      }
      return flags;
    };
    // forward + two gradient products
    expect(record('explicit-transpose')).toEqual([false, false, false]);
    expect(record('tfjs-flags')).toEqual([false, true, true]);
    expect(batchMatMulGradExplicitTranspose.kernelName).toBe(batchMatMulGradWithFlags.kernelName);
  });
});

describe('(c) safeVariableGrads', () => {
  it('leaks no tensors when f throws mid-forward (plain variableGrads does)', () => {
    const v = tf.variable(tf.randomNormal([8, 8], 0, 1, 'float32', 4), true, 'leak-v');
    const failing = () => {
      let h: tf.Tensor = v;
      for (let i = 0; i < 10; i++) h = tf.tanh(tf.matMul(h, v));
      throw new Error('boom');
      return tf.sum(h) as tf.Scalar;
    };
    const before = tf.memory().numTensors;
    expect(() => tf.variableGrads(failing, [v])).toThrow('boom');
    const leakedPlain = tf.memory().numTensors - before;
    expect(leakedPlain).toBeGreaterThan(0); // the defect this helper exists for
    // Clean up what plain variableGrads leaked so the next count starts fresh.
    const engine = tf.engine() as unknown as { state: { activeTape: { saved?: tf.Tensor[] }[] | null } };
    for (const node of engine.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
    engine.state.activeTape = null;
    const mid = tf.memory().numTensors;
    expect(() => safeVariableGrads(failing, [v])).toThrow('boom');
    expect(tf.memory().numTensors).toBe(mid);
    // And it still computes gradients normally.
    const { value, grads } = safeVariableGrads(() => tf.sum(tf.square(v)) as tf.Scalar, [v]);
    const expected = tf.mul(v, 2);
    expect(Math.max(...tf.abs(tf.sub(grads['leak-v'], expected)).dataSync())).toBeLessThan(1e-6);
    tf.dispose([v, value, grads['leak-v'], expected]);
  });
});
