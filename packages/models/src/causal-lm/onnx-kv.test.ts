import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { generate } from '@proj/sampling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { CAUSAL_LM_PRESETS } from './config';
import { TfCausalLmSource } from './logits-source';
import { CausalLm } from './model';
import { causalLmToOnnx, recordCausalLm } from './onnx';
import { OnnxCausalLmSource } from './onnx-source';

const VOCAB = 30;
let model: CausalLm;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: VOCAB, initializer_range: 0.1 }, new Rng(3));
});
afterAll(() => model.dispose());

/** Greedy decoding written out on the model's own full forward (no cache), one token at a time. */
function manualGreedy(m: CausalLm, prompt: number[], steps: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < steps; i++) {
    seq.push(
      tf.tidy(() => {
        const logits = m.forward(new TfOps(m.params), tf.tensor2d([seq], [1, seq.length], 'int32'));
        return tf.argMax(tf.slice(logits, [0, seq.length - 1, 0], [1, 1, m.config.vocab_size]), -1).dataSync()[0];
      }),
    );
  }
  return seq.slice(prompt.length);
}

const int2d = (rows: number[][]) => tf.tensor2d(rows, [rows.length, rows[0].length], 'int32');

describe('CausalLm.forwardWithPast (the step the KV-cache export records)', () => {
  it('chunks with positions and a growing mask give the full forward logits; a left-padded row gives its unpadded logits', () => {
    const ops = new TfOps(model.params);
    const ids = [[3, 7, 1, 9, 4, 12]];
    const full = tf.tidy(() => model.forward(ops, int2d(ids)).arraySync() as number[][][]);
    const chunked = tf.tidy(() => {
      const a = model.forwardWithPast(ops, int2d([ids[0].slice(0, 4)]), { positionIds: int2d([[0, 1, 2, 3]]), attentionMask: int2d([[1, 1, 1, 1]]) });
      const b = model.forwardWithPast(ops, int2d([ids[0].slice(4)]), { positionIds: int2d([[4, 5]]), attentionMask: int2d([[1, 1, 1, 1, 1, 1]]), past: a.present });
      return tf.concat([a.logits, b.logits], 1).arraySync() as number[][][];
    });
    full[0].flat().forEach((v, k) => expect(chunked[0].flat()[k]).toBeCloseTo(v, 5));
    // The same tokens after two padding slots (positions from 0 after the padding) in a batch with the unpadded row.
    const padded = tf.tidy(() => {
      const out = model.forwardWithPast(ops, int2d([[0, 0, ...ids[0]], [5, 6, ...ids[0]]]), { positionIds: int2d([[0, 0, 0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5, 6, 7]]), attentionMask: int2d([[0, 0, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1]]) });
      return out.logits.arraySync() as number[][][];
    });
    full[0].flat().forEach((v, k) => expect(padded[0].slice(2).flat()[k]).toBeCloseTo(v, 5));
  });
});

describe('causalLmToOnnx with past key/values', () => {
  it('records the optimum decoder layout: input_ids, attention_mask, position_ids, past_key_values.<i>.key/value → logits, present.<i>.key/value', () => {
    const graph = recordCausalLm(model, { kvCache: true, maxLength: 64 });
    expect(graph.inputs.map((i) => [i.name, i.shape])).toEqual([
      ['input_ids', ['batch', 'seq']],
      ['attention_mask', ['batch', 'past_seq+seq']],
      ['position_ids', ['batch', 'seq']],
      ['past_key_values.0.key', ['batch', 2, 'past_seq', 8]],
      ['past_key_values.0.value', ['batch', 2, 'past_seq', 8]],
      ['past_key_values.1.key', ['batch', 2, 'past_seq', 8]],
      ['past_key_values.1.value', ['batch', 2, 'past_seq', 8]],
    ]);
    expect(graph.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['logits', ['batch', 'seq', VOCAB]],
      ['present.0.key', ['batch', 2, 'past_seq+seq', 8]],
      ['present.0.value', ['batch', 2, 'past_seq+seq', 8]],
      ['present.1.key', ['batch', 2, 'past_seq+seq', 8]],
      ['present.1.value', ['batch', 2, 'past_seq+seq', 8]],
    ]);
  });

  it('greedy tokens on onnxruntime with the KV cache equal the model’s own forward and the cached tfjs path (equal and ragged prompts)', async () => {
    const onnx = await OnnxCausalLmSource.create(await causalLmToOnnx(model, { kvCache: true, maxLength: 64 }), model.config, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    try {
      const steps = 12;
      const equal = [[1, 5, 9, 2], [2, 4, 4, 8], [7, 7, 3, 11]];
      const want = equal.map((p) => manualGreedy(model, p, steps));
      expect(await generate(equal, onnx, { maxNewTokens: steps })).toEqual(want);
      const tfCached = new TfCausalLmSource(model);
      expect(await generate(equal, tfCached, { maxNewTokens: steps })).toEqual(want);
      tfCached.dispose();
      // Ragged prompts: left padding on the first call, the cache on every later one.
      const ragged = [[1, 5, 9], [2, 4], [7, 7, 7, 3, 11], [6]];
      expect(await generate(ragged, onnx, { maxNewTokens: steps })).toEqual(ragged.map((p) => manualGreedy(model, p, steps)));
      // Step logits: the cached onnxruntime call on one new token per row equals tfjs's full forward.
      const first = await onnx.next({ tokens: equal });
      const second = await onnx.next({ tokens: [[3], [6], [1]], cache: first.cache });
      const full = tf.tidy(() => tf.slice(model.forward(new TfOps(model.params), int2d(equal.map((p, b) => [...p, [3, 6, 1][b]]))), [0, 4, 0], [3, 1, VOCAB]).dataSync() as Float32Array);
      const diff = Math.max(...Array.from(full, (v, k) => Math.abs(v - second.logits[k])));
      console.log(`onnx kv step logits: max |onnx - tfjs| ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-4);
    } finally {
      await onnx.release();
    }
  });

  it('a MoE model exported with past key/values generates the same greedy tokens on onnxruntime as its own forward', async () => {
    const moe = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: VOCAB, initializer_range: 0.1, use_moe: true, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 16 }, new Rng(8));
    const onnx = await OnnxCausalLmSource.create(await causalLmToOnnx(moe, { kvCache: true, maxLength: 32 }), moe.config, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    try {
      const prompts = [[4, 2, 8], [9, 1]];
      expect(await generate(prompts, onnx, { maxNewTokens: 8 })).toEqual(prompts.map((p) => manualGreedy(moe, p, 8)));
    } finally {
      await onnx.release();
      moe.dispose();
    }
  });

  it('refuses a graph exported without past key/values, naming the export call', async () => {
    await expect(OnnxCausalLmSource.create(await causalLmToOnnx(model, { maxLength: 16 }), model.config, { executionProviders: ['cpu'] })).rejects.toThrow("no input 'attention_mask'");
  });
});
