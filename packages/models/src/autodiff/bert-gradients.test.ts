import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { BertForMaskedLM } from '../bert/model';
import { GraphOps, parametersAsInputs } from '../ops/graph-ops';
import { TfOps } from '../ops/tf-ops';
import { appendGradients } from './gradients';
import { graphRunner, maxAbs, recordTinyBertLoss, tfInt32, tinyBertBatch, tinyBertFeeds, tinyBertLoss, TINY_BERT } from './testing';

let model: BertForMaskedLM;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = BertForMaskedLM.random(TINY_BERT, new Rng(7));
});
afterAll(() => model.dispose());

describe('autodiff end to end: BertForMaskedLM masked-LM loss', () => {
  it('onnxruntime gradients of every parameter equal tfjs variableGrads (max diff <= 2e-5 of each gradient max)', async () => {
    const x = tinyBertBatch(new Rng(3));
    const names = model.params.names();

    // tfjs: the same model code, eagerly, through tfjs autograd.
    const ops = new TfOps(model.params);
    const tfGrads = new Map<string, Float32Array>();
    let tfLoss = 0;
    tf.tidy(() => {
      const { value, grads } = model.params.grads(() => tinyBertLoss(ops, model, x, tfInt32) as tf.Scalar);
      tfLoss = value.dataSync()[0];
      for (const [n, g] of grads) tfGrads.set(n, g.dataSync() as Float32Array);
    });
    expect(tfGrads.size).toBe(names.length);

    // The graph: recorded with dynamic batch / sequence / mask count, parameters as inputs, backward appended.
    const g = new GraphOps(model.params);
    const loss = recordTinyBertLoss(g, model);
    g.output(loss, 'loss');
    const { graph, gradients } = appendGradients(parametersAsInputs(g.toGraph(), names), { loss: 'loss', wrt: names });
    const runner = await graphRunner(graph);
    try {
      const feeds = tinyBertFeeds(x);
      for (const n of names) feeds[n] = { data: await model.params.toFloat32(n), dims: model.params.shape(n) };
      const out = await runner.run(feeds);
      expect(Math.abs(out.loss[0] - tfLoss)).toBeLessThan(1e-5 * Math.abs(tfLoss));
      let worst = 0;
      for (const n of names) {
        const got = out[gradients.get(n)!];
        const want = tfGrads.get(n)!;
        // The key biases' gradient is 0 in exact arithmetic (softmax ignores a per-query shift of
        // the scores): both engines give float noise there, compared on an absolute floor.
        const zero = n.endsWith('attention.self.key.bias');
        expect(maxAbs(want) > 1e-3, `${n}: max |g| ${maxAbs(want)}`).toBe(!zero);
        const scale = Math.max(maxAbs(want), 1e-2);
        let diff = 0;
        for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i] - want[i]));
        worst = Math.max(worst, diff / scale);
        expect(diff / scale, `${n}: max |onnx - tfjs| ${diff.toExponential(2)} against max |g| ${scale.toExponential(2)}`).toBeLessThan(2e-5);
      }
      console.log(`bert autodiff: ${names.length} parameters, loss ${tfLoss.toFixed(5)}, worst max|onnx - tfjs| / max|g| = ${worst.toExponential(2)}`);
    } finally {
      await runner.release();
    }
  });
});
