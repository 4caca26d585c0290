import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { resolveBertConfig } from './config';
import { BertForMaskedLM, BertModel, bertParameterShapes } from './model';

const config = resolveBertConfig({ vocabSize: 50, hiddenSize: 16, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 16 });

afterAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('BertForMaskedLM.random', () => {
  it('has exactly the HF tensor names and shapes, normal(0, initializer_range) weights, zero pad row', async () => {
    await initBackend({ backend: 'cpu' });
    const model = BertForMaskedLM.random(config, new Rng(1));
    const shapes = bertParameterShapes(config);
    expect(model.params.names().sort()).toEqual([...shapes.keys()].sort());
    for (const [n, s] of shapes) expect(model.params.shape(n)).toEqual(s);
    const words = await model.params.toFloat32('bert.embeddings.word_embeddings.weight');
    const std = Math.sqrt(words.reduce((s, v) => s + v * v, 0) / (words.length - 16));
    expect(std).toBeGreaterThan(0.018);
    expect(std).toBeLessThan(0.022);
    expect(Array.from(words.slice(0, 16)).every((v) => v === 0)).toBe(true); // pad_token_id 0
    expect(Array.from(await model.params.toFloat32('bert.encoder.layer.1.output.LayerNorm.weight')).every((v) => v === 1)).toBe(true);
    // Same seed, same weights.
    const again = BertForMaskedLM.random(config, new Rng(1));
    expect(Array.from(await again.params.toFloat32('cls.predictions.transform.dense.weight'))).toEqual(Array.from(await model.params.toFloat32('cls.predictions.transform.dense.weight')));
    model.dispose();
    again.dispose();
  });

  it('BertModel.random has a pooler: tanh output of shape [B, H]', async () => {
    await initBackend({ backend: 'cpu' });
    const model = BertModel.random(config, new Rng(2));
    const out = tf.tidy(() => model.forward(new TfOps(model.params), { inputIds: tf.tensor2d([[1, 2, 3]], [1, 3], 'int32') }, { pooled: true }).pooledOutput as tf.Tensor);
    expect(out.shape).toEqual([1, 16]);
    expect(Math.max(...out.dataSync().map(Math.abs))).toBeLessThan(1);
    tf.dispose(out);
    model.dispose();
  });
});

/** Ten SGD steps memorizing one masked batch; returns the loss curve. */
async function train(backend: 'cpu' | 'wasm'): Promise<number[] | null> {
  try {
    await initBackend({ backend });
  } catch {
    return null;
  }
  const model = BertForMaskedLM.random(resolveBertConfig({ ...config, initializerRange: 0.1 }), new Rng(3));
  const ops = new TfOps(model.params);
  const ids = tf.tensor2d([[2, 7, 4, 9, 3, 0], [2, 11, 12, 4, 13, 3]], [2, 6], 'int32');
  const mask = tf.tensor2d([[1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1]], [2, 6], 'int32');
  const positions = tf.tensor1d([2, 9], 'int32');
  const labels = tf.tensor1d([8, 10], 'int32');
  const losses: number[] = [];
  for (let step = 0; step < 10; step++) {
    // Dropout on, with a seeded mask: the same on every backend.
    const rng = new Rng(100 + step);
    const { value, grads } = model.params.grads(() => tf.tidy(() => model.loss(ops, { inputIds: ids, attentionMask: mask }, positions, labels, { training: { rng } }) as tf.Scalar));
    losses.push(value.dataSync()[0]);
    for (const [name, g] of grads) {
        // assign() shares the new value's data; the new tensor object itself must still be disposed.
        const updated = tf.tidy(() => tf.sub(model.params.get(name), tf.mul(g, 0.2)));
        model.params.get(name).assign(updated);
        updated.dispose();
      }
    tf.dispose([value, ...grads.values()]);
  }
  tf.dispose([ids, mask, positions, labels]);
  model.dispose();
  return losses;
}

describe('training through TfOps', () => {
  it('the MLM loss falls on cpu, and wasm follows the same curve (same seeds)', async () => {
    const before = tf.memory().numTensors;
    const cpu = (await train('cpu')) as number[];
    console.log(`cpu loss curve: ${cpu.map((l) => l.toFixed(3)).join(' ')}`);
    expect(tf.memory().numTensors).toBe(before); // no tensor leaks per step
    expect(cpu[0]).toBeCloseTo(Math.log(50), 0); // ~uniform at init
    expect(cpu[9]).toBeLessThan(cpu[0] * 0.5);
    const wasm = await train('wasm');
    if (wasm === null) {
      console.warn('SKIP wasm training comparison: the wasm backend did not initialize in vitest');
      return;
    }
    wasm.forEach((l, i) => expect(l).toBeCloseTo(cpu[i], 3));
  });
});
