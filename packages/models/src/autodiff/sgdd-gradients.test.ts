import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { parseSgddConfig } from '../sgdd/config';
import { SgddModel, type SgddHostBatch } from '../sgdd/model';
import { GraphOps, parametersAsInputs } from '../ops/graph-ops';
import { TfOps } from '../ops/tf-ops';
import { appendGradients } from './gradients';
import { graphRunner, maxAbs } from './testing';

let model: SgddModel;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = SgddModel.random(parseSgddConfig({ vocab_size: 40, mask_token_id: 3, cls_token_id: 1, sep_token_id: 2, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 32, semantic_size: 8, initializer_range: 0.2 }), new Rng(2));
});
afterAll(() => model.dispose());

/** Two rows of 5, one padded; masked ids are 3 ([MASK]). */
function hostBatch(): SgddHostBatch {
  const rng = new Rng(5);
  return {
    batch: 2,
    length: 5,
    inputIds: Int32Array.from([1, 3, 5, 3, 2, 1, 9, 3, 0, 0]),
    attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
    timesteps: Int32Array.from([3, 17]),
    semantic: Float32Array.from({ length: 16 }, () => rng.normal()),
    condition: Float32Array.from([1, 0]),
    positions: Int32Array.from([1, 3, 4, 5, 7]),
    targets: Int32Array.from([11, 12, 13, 14, 15]),
  };
}

describe('autodiff end to end: SGDD decoder (cross-attention, RoPE, timestep MLP, classifier-free conditioning)', () => {
  it('onnxruntime gradients of the diffusion loss w.r.t. every parameter equal tfjs (max diff <= 1e-5 of each gradient max)', async () => {
    const batch = hostBatch();
    const names = model.params.names();
    const ops = new TfOps(model.params);
    const want = new Map<string, Float32Array>();
    let tfLoss = 0;
    tf.tidy(() => {
      const { value, grads } = model.params.grads(() => model.batchLoss(ops, batch) as tf.Scalar);
      tfLoss = value.dataSync()[0];
      for (const [n, g] of grads) want.set(n, g.dataSync() as Float32Array);
    });

    const g = new GraphOps(model.params);
    g.output(model.batchLoss(g, batch), 'loss');
    // condition [1, 0]: one row on its semantic vector, the other on the null vector, so both paths carry gradient.
    const { graph, gradients } = appendGradients(parametersAsInputs(g.toGraph(), names), { loss: 'loss', wrt: names });
    const runner = await graphRunner(graph);
    try {
      const out = await runner.run(Object.fromEntries(await Promise.all(names.map(async (n) => [n, { data: await model.params.toFloat32(n), dims: model.params.shape(n) }] as const))));
      expect(Math.abs(out.loss[0] - tfLoss)).toBeLessThan(1e-5 * tfLoss);
      const global = Math.max(...names.map((n) => maxAbs(want.get(n)!)));
      let worst = 0;
      for (const n of names) {
        const w = want.get(n)!;
        const got = out[gradients.get(n)!];
        if (n.endsWith('cross_attention.key.bias')) {
          // A bias added to every memory key (no RoPE there) shifts each query's scores alike, and softmax
          // ignores that: the gradient is 0 in exact arithmetic, so both engines give float noise only.
          expect(Math.max(maxAbs(got), maxAbs(w)) / global, n).toBeLessThan(1e-6);
          continue;
        }
        const ratio = maxAbs(got.map((v, i) => v - w[i])) / Math.max(maxAbs(w), 1e-3 * global);
        worst = Math.max(worst, ratio);
        expect(ratio, n).toBeLessThan(1e-5);
      }
      console.log(`sgdd autodiff: ${names.length} parameters, loss ${tfLoss.toFixed(5)}, worst ${worst.toExponential(2)}`);
    } finally {
      await runner.release();
    }
  });
});
