import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { appendGradients } from '../autodiff/gradients';
import { graphRunner } from '../autodiff/testing';
import { initBackend } from '../backend/init-backend';
import { GraphOps } from './graph-ops';
import { ParameterStore } from './parameter-store';
import { TfOps } from './tf-ops';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

const LOGITS = Float32Array.from({ length: 12 }, (_, i) => Math.sin(i + 1) * 2);

describe('crossEntropy on both engines', () => {
  it.each([
    ['every target ignored', [-100, -100, -100], 0],
    ['one target kept', [-100, 2, -100], -Math.log(Math.exp(LOGITS[6]) / (Math.exp(LOGITS[4]) + Math.exp(LOGITS[5]) + Math.exp(LOGITS[6]) + Math.exp(LOGITS[7])))],
  ] as const)('%s: TfOps and the recorded graph on onnxruntime give %s, with equal gradients', async (_name, targets, want) => {
    const tfOps = new TfOps(new ParameterStore());
    const [tfLoss, tfGrad] = tf.tidy(() => {
      const t = tf.tensor1d(targets as unknown as number[], 'int32');
      const f = (l: tf.Tensor) => tfOps.crossEntropy(l, t);
      const l = tf.tensor2d(LOGITS, [3, 4]);
      return [f(l).dataSync()[0], tf.grad(f)(l).dataSync() as Float32Array];
    });
    expect(tfLoss).toBeCloseTo(want, 5);

    const g = new GraphOps({ has: () => false, shape: () => [] });
    g.output(g.crossEntropy(g.input('logits', 'float32', ['n', 4]), g.input('targets', 'int32', ['n'])), 'loss');
    const graph = g.toGraph();
    expect(graph.nodes.some((n) => n.op === 'SoftmaxCrossEntropyLoss')).toBe(false);
    const { graph: withGrads, gradients } = appendGradients(graph, { loss: 'loss', wrt: ['logits'] });
    const runner = await graphRunner(withGrads);
    try {
      const out = await runner.run({ logits: { data: LOGITS, dims: [3, 4] }, targets: { data: Int32Array.from(targets), dims: [3] } });
      expect(out.loss[0]).toBeCloseTo(want, 5);
      const grad = Array.from(out[gradients.get('logits')!]);
      grad.forEach((v, i) => expect(v, `d loss / d logits[${i}]`).toBeCloseTo(tfGrad[i], 6));
      // All ignored: the loss is constant, so every gradient is exactly 0 (no NaN).
      if (want === 0) expect(grad.every((v) => v === 0)).toBe(true);
    } finally {
      await runner.release();
    }
  });
});
