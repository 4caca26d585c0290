import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { GapRelm } from '../gap-relm/gap-relm';
import { charTokenizer, corpusSentences, TINY } from '../gap-relm/testing';
import { GraphOps, parametersAsInputs } from '../ops/graph-ops';
import type { Ops } from '../ops/ops';
import { TfOps } from '../ops/tf-ops';
import { appendGradients } from './gradients';
import { graphRunner, maxAbs } from './testing';

let relm: GapRelm;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  relm = GapRelm.create({ ...TINY, ptuning: 'lstm' }, charTokenizer(corpusSentences(40)), 5);
});
afterAll(() => relm.dispose());

const IGNORE = -100;
const K = (TINY.max_insert_k ?? 3) + 1;

/** The planner loss (op CE + insert CE) on Ops: the BiLSTM prompt encoder, the encoder and both heads. */
function plannerLoss<T>(ops: Ops<T>, x: { inputIds: T; attentionMask: T }, opTargets: T, insertTargets: T): T {
  const out = relm.planner(ops, x);
  return ops.add(ops.crossEntropy(ops.reshape(out.opLogits, [-1, 3]), opTargets, IGNORE), ops.crossEntropy(ops.reshape(out.insertLogits, [-1, K]), insertTargets, IGNORE));
}

describe('autodiff end to end: Gap-ReLM planner with a P-tuning BiLSTM', () => {
  it('onnxruntime gradients of every planner and prompt parameter equal tfjs (max diff <= 1e-5 of each gradient max)', async () => {
    const rng = new Rng(4);
    const vocab = relm.tokenizer.vocab.size;
    const x = relm.plannerInputs([[5, 6, 7, 8, 9], [10, 11, 12]].map((s) => s.map((i) => 5 + ((i * 7) % (vocab - 5)))));
    const ops = new TfOps(relm.store);
    const slots = tf.tidy(() => relm.planner(ops, GapRelm.tensors(x)).opLogits.shape[1] as number);
    const n = x.batch * slots;
    const opTargets = Int32Array.from({ length: n }, (_, i) => (i % 5 === 0 ? IGNORE : rng.int(3)));
    const insertTargets = Int32Array.from({ length: n }, () => rng.int(K));
    const names = relm.store.names().filter((p) => p.startsWith('planner.') || p.startsWith('prompt.'));

    const want = new Map<string, Float32Array>();
    let tfLoss = 0;
    tf.tidy(() => {
      const { value, grads } = relm.store.grads(() => plannerLoss(ops, GapRelm.tensors(x), tf.tensor1d(opTargets, 'int32'), tf.tensor1d(insertTargets, 'int32')) as tf.Scalar);
      tfLoss = value.dataSync()[0];
      for (const p of names) want.set(p, grads.get(p)!.dataSync() as Float32Array);
    });

    const g = new GraphOps(relm.store);
    const loss = plannerLoss(g, { inputIds: g.input('input_ids', 'int32', ['batch', 'seq']), attentionMask: g.input('attention_mask', 'int32', ['batch', 'seq']) }, g.input('op_targets', 'int32', ['n']), g.input('insert_targets', 'int32', ['n']));
    g.output(loss, 'loss');
    const { graph, gradients } = appendGradients(parametersAsInputs(g.toGraph(), names), { loss: 'loss', wrt: names });
    const runner = await graphRunner(graph);
    try {
      const dims = [x.batch, x.length];
      const feeds = {
        input_ids: { data: x.inputIds, dims },
        attention_mask: { data: x.attentionMask, dims },
        op_targets: { data: opTargets, dims: [n] },
        insert_targets: { data: insertTargets, dims: [n] },
        ...Object.fromEntries(await Promise.all(names.map(async (p) => [p, { data: await relm.store.toFloat32(p), dims: relm.store.shape(p) }] as const))),
      };
      const out = await runner.run(feeds);
      expect(Math.abs(out.loss[0] - tfLoss)).toBeLessThan(1e-5 * tfLoss);
      const global = Math.max(...names.map((p) => maxAbs(want.get(p)!)));
      let worst = 0;
      for (const p of names) {
        const got = out[gradients.get(p)!];
        const w = want.get(p)!;
        // Per-parameter scale, floored at 1e-3 of the largest gradient: the key biases' gradient is 0
        // in exact arithmetic and both engines leave float noise there.
        const scale = Math.max(maxAbs(w), 1e-3 * global);
        const diff = maxAbs(got.map((v, i) => v - w[i]));
        worst = Math.max(worst, diff / scale);
        expect(diff / scale, `${p}: max |onnx - tfjs| ${diff.toExponential(2)}, max |g| ${maxAbs(w).toExponential(2)}`).toBeLessThan(1e-5);
      }
      expect(names.some((p) => p.includes('lstm'))).toBe(true);
      console.log(`gap-relm planner autodiff: ${names.length} parameters, loss ${tfLoss.toFixed(5)}, worst ${worst.toExponential(2)}`);
    } finally {
      await runner.release();
    }
  });
});
