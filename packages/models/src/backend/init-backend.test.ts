import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { initBackend } from './init-backend';

describe('initBackend', () => {
  it('forces cpu and reports it', async () => {
    const info = await initBackend({ backend: 'cpu' });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(info.detail).toContain('tfjs-backend-cpu');
  });

  it('registers gradients: RealDiv (absent from the tfjs-core Node entry) differentiates', async () => {
    await initBackend({ backend: 'cpu' });
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.div(x, 4)))(tf.tensor1d([1, 2]));
    expect(Array.from(g.dataSync())).toEqual([0.25, 0.25]);
  });

  it('a forced backend that is not installed is a clear error', async () => {
    await expect(initBackend({ backend: 'tensorflow-gpu' })).rejects.toThrow(/initBackend: backend 'tensorflow-gpu' could not be loaded/);
  });

  it('auto falls through missing tfjs-node packages to wasm (or cpu) and says what it skipped', async () => {
    const info = await initBackend();
    expect(['wasm', 'cpu']).toContain(info.name);
    expect(info.detail).toMatch(/; skipped: tensorflow-gpu \(not installed\), tensorflow \(not installed\)$/);
    if (info.name === 'wasm') expect(info.detail).toMatch(/SIMD, single-threaded/);
    await initBackend({ backend: 'cpu' });
  });

  it('wasm with threads > 1 says the threaded build does not run in Node (or wasm is unavailable)', async () => {
    try {
      const info = await initBackend({ backend: 'wasm', threads: 2 });
      expect(info.name).toBe('wasm');
      expect(info.detail).toMatch(/single-threaded; 2 threads requested but the threaded build does not start in Node, running 1/);
    } catch (err) {
      expect((err as Error).message).toMatch(/^initBackend: backend 'wasm' could not be loaded: /);
    }
    await initBackend({ backend: 'cpu' });
  });

  it('rejects bad options naming the argument', async () => {
    await expect(initBackend({ backend: 'gpu' as never })).rejects.toThrow(/initBackend: backend must be one of .* got gpu/);
    await expect(initBackend({ threads: 0 })).rejects.toThrow(/initBackend: threads must be a positive integer, got 0/);
  });
});
