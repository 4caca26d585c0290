import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { BertForMaskedLM } from '../bert/model';
import { GraphOps, parametersAsInputs } from '../ops/graph-ops';
import { TfOps } from '../ops/tf-ops';
import { dropoutMaskFeeds } from './dropout-masks';
import { appendGradients } from './gradients';
import { graphRunner, maxAbs, recordTinyBertLoss, tfInt32, tinyBertBatch, tinyBertFeeds, tinyBertLoss, TINY_BERT } from './testing';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('autodiff end to end: BertForMaskedLM masked-LM loss', () => {
  // With dropout on, the graph takes its masks as inputs (GraphOps dropout: 'inputs') and
  // dropoutMaskFeeds draws them from the rng TfOps uses, so both engines drop the same units.
  it.each([
    ['dropout off', 0, 0],
    ['dropout 0.1 (hidden and attention), masks as inputs', 0.1, 7],
  ] as const)('%s: onnxruntime gradients of every parameter equal tfjs variableGrads (max diff <= 2e-5 of each gradient max)', async (_name, rate, maskCount) => {
    const model = BertForMaskedLM.random({ ...TINY_BERT, hiddenDropoutProb: rate, attentionProbsDropoutProb: rate }, new Rng(7));
    const training = rate > 0 ? { rng: new Rng(21) } : undefined;
    const x = tinyBertBatch(new Rng(3));
    const names = model.params.names();

    // tfjs: the same model code, eagerly, through tfjs autograd.
    const ops = new TfOps(model.params);
    const tfGrads = new Map<string, Float32Array>();
    let tfLoss = 0;
    tf.tidy(() => {
      const { value, grads } = model.params.grads(() => tinyBertLoss(ops, model, x, tfInt32, training) as tf.Scalar);
      tfLoss = value.dataSync()[0];
      for (const [n, g] of grads) tfGrads.set(n, g.dataSync() as Float32Array);
    });
    expect(tfGrads.size).toBe(names.length);

    // The graph: recorded with dynamic batch / sequence / mask count, parameters as inputs, backward appended.
    const g = new GraphOps(model.params, { dropout: 'inputs' });
    const loss = recordTinyBertLoss(g, model, rate > 0 ? { rng: new Rng(0) } : undefined);
    g.output(loss, 'loss');
    const { graph, gradients } = appendGradients(parametersAsInputs(g.toGraph(), names), { loss: 'loss', wrt: names });
    expect(graph.dropoutMasks ?? []).toHaveLength(maskCount);
    const runner = await graphRunner(graph);
    try {
      const feeds = tinyBertFeeds(x);
      for (const n of names) feeds[n] = { data: await model.params.toFloat32(n), dims: model.params.shape(n) };
      const dims = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.dims]));
      for (const [n, mask] of dropoutMaskFeeds(graph, dims, new Rng(21))) feeds[n] = mask;
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
      console.log(`bert autodiff (${_name}): ${names.length} parameters, loss ${tfLoss.toFixed(5)}, worst max|onnx - tfjs| / max|g| = ${worst.toExponential(2)}`);
    } finally {
      await runner.release();
      model.dispose();
    }
  });
});
