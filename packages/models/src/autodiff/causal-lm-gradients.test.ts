import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { CausalLm } from '../causal-lm/model';
import { GraphOps, parametersAsInputs } from '../ops/graph-ops';
import type { Ops } from '../ops/ops';
import { TfOps } from '../ops/tf-ops';
import { appendGradients } from './gradients';
import { graphRunner, maxAbs } from './testing';

const VOCAB = 50;
let model: CausalLm;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  // RoPE, RMSNorm, SwiGLU, grouped-query attention (4 heads / 2 KV heads), tied embeddings.
  model = CausalLm.random({ vocab_size: VOCAB, hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 16, initializer_range: 0.2 }, new Rng(1));
});
afterAll(() => model.dispose());

/** Next-token cross-entropy over every position. */
function lmLoss<T>(ops: Ops<T>, ids: T, targets: T): T {
  return ops.crossEntropy(ops.reshape(model.forward(ops, ids, { maxLength: 16 }), [-1, VOCAB]), targets);
}

describe('autodiff end to end: causal LM (RoPE, RMSNorm, SwiGLU, GQA)', () => {
  it('onnxruntime gradients of every parameter equal tfjs (max diff <= 1e-5 of each gradient max)', async () => {
    const [b, len] = [2, 6];
    const ids = Int32Array.from({ length: b * len }, (_, i) => (i * 7) % VOCAB);
    const targets = Int32Array.from({ length: b * len }, (_, i) => (i % 5 === 4 ? -100 : (i * 11 + 3) % VOCAB));
    const names = model.params.names();

    const ops = new TfOps(model.params);
    const want = new Map<string, Float32Array>();
    let tfLoss = 0;
    tf.tidy(() => {
      const { value, grads } = model.params.grads(() => lmLoss(ops, tf.tensor2d(ids, [b, len], 'int32'), tf.tensor1d(targets, 'int32')) as tf.Scalar);
      tfLoss = value.dataSync()[0];
      for (const n of names) want.set(n, grads.get(n)!.dataSync() as Float32Array);
    });

    const g = new GraphOps(model.params);
    g.output(lmLoss(g, g.input('input_ids', 'int32', ['batch', 'seq']), g.input('targets', 'int32', ['n'])), 'loss');
    const { graph, gradients } = appendGradients(parametersAsInputs(g.toGraph(), names), { loss: 'loss', wrt: names });
    const runner = await graphRunner(graph);
    try {
      const out = await runner.run({
        input_ids: { data: ids, dims: [b, len] },
        targets: { data: targets, dims: [b * len] },
        ...Object.fromEntries(await Promise.all(names.map(async (n) => [n, { data: await model.params.toFloat32(n), dims: model.params.shape(n) }] as const))),
      });
      expect(Math.abs(out.loss[0] - tfLoss)).toBeLessThan(1e-5 * tfLoss);
      let worst = 0;
      for (const n of names) {
        const w = want.get(n)!;
        expect(maxAbs(w), `${n}: max |g|`).toBeGreaterThan(1e-3);
        const ratio = maxAbs(out[gradients.get(n)!].map((v, i) => v - w[i])) / maxAbs(w);
        worst = Math.max(worst, ratio);
        expect(ratio, n).toBeLessThan(1e-5);
      }
      console.log(`causal lm autodiff: ${names.length} parameters, loss ${tfLoss.toFixed(5)}, worst ${worst.toExponential(2)}`);
    } finally {
      await runner.release();
    }
  });
});
