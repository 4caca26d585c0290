import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { resolveBertConfig } from '../bert/config';
import { BertForMaskedLM } from '../bert/model';
import { GraphOps, parametersAsInputs } from '../ops/graph-ops';
import { TfOps } from '../ops/tf-ops';
import { appendGradients } from './gradients';
import { graphRunner, maxAbs, type HostTensor } from './testing';

// Tiny BERT, dropout off (eval-mode forward), a larger init range so every gradient is well above float noise.
const CONFIG = resolveBertConfig({
  vocabSize: 40,
  hiddenSize: 16,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 32,
  maxPositionEmbeddings: 12,
  initializerRange: 0.2,
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0,
});

let model: BertForMaskedLM;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = BertForMaskedLM.random(CONFIG, new Rng(7));
});
afterAll(() => model.dispose());

/** A padded batch of 3 × 7 with repeated ids, sentence pairs, and one ignored label. */
function batch(rng: Rng) {
  const [b, len] = [3, 7];
  const lengths = [7, 5, 3];
  const ids = new Int32Array(b * len);
  const mask = new Int32Array(b * len);
  const types = new Int32Array(b * len);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < lengths[i]; j++) {
      ids[i * len + j] = 1 + rng.int(8); // ids 1..8 only: the embedding gradient sums repeats
      mask[i * len + j] = 1;
      types[i * len + j] = j >= 4 ? 1 : 0;
    }
  }
  const positions = Int32Array.from([1, 3, 6, 8, 9, 14, 15]);
  const labels = Int32Array.from([5, 17, 2, -100, 30, 5, 11]);
  return { b, len, ids, mask, types, positions, labels };
}

describe('autodiff end to end: BertForMaskedLM masked-LM loss', () => {
  it('onnxruntime gradients of every parameter equal tfjs variableGrads (max diff <= 2e-5 of each gradient max)', async () => {
    const x = batch(new Rng(3));
    const names = model.params.names();

    // tfjs: the same model code, eagerly, through tfjs autograd.
    const ops = new TfOps(model.params);
    const tfGrads = new Map<string, Float32Array>();
    let tfLoss = 0;
    tf.tidy(() => {
      const { value, grads } = model.params.grads(() =>
        model.loss(ops, {
          inputIds: tf.tensor2d(x.ids, [x.b, x.len], 'int32'),
          attentionMask: tf.tensor2d(x.mask, [x.b, x.len], 'int32'),
          tokenTypeIds: tf.tensor2d(x.types, [x.b, x.len], 'int32'),
        }, tf.tensor1d(x.positions, 'int32'), tf.tensor1d(x.labels, 'int32')) as tf.Scalar,
      );
      tfLoss = value.dataSync()[0];
      for (const [n, g] of grads) tfGrads.set(n, g.dataSync() as Float32Array);
    });
    expect(tfGrads.size).toBe(names.length);

    // The graph: recorded with dynamic batch / sequence / mask count, parameters as inputs, backward appended.
    const g = new GraphOps(model.params);
    const loss = model.loss(g, {
      inputIds: g.input('input_ids', 'int32', ['batch', 'seq']),
      attentionMask: g.input('attention_mask', 'int32', ['batch', 'seq']),
      tokenTypeIds: g.input('token_type_ids', 'int32', ['batch', 'seq']),
    }, g.input('positions', 'int32', ['n']), g.input('labels', 'int32', ['n']));
    g.output(loss, 'loss');
    const { graph, gradients } = appendGradients(parametersAsInputs(g.toGraph(), names), { loss: 'loss', wrt: names });
    const runner = await graphRunner(graph);
    try {
      const feeds: Record<string, HostTensor> = {
        input_ids: { data: x.ids, dims: [x.b, x.len] },
        attention_mask: { data: x.mask, dims: [x.b, x.len] },
        token_type_ids: { data: x.types, dims: [x.b, x.len] },
        positions: { data: x.positions, dims: [x.positions.length] },
        labels: { data: x.labels, dims: [x.labels.length] },
      };
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
