import * as tf from '@tensorflow/tfjs-core';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { loadBertCheckpoint } from '../bert/weights';
import { BertModel } from '../bert/model';
import { SentenceEncoder } from './encoder';
import { encodeSentences } from './semantic';

const TINY_BERT = fileURLToPath(new URL('../../test/fixtures/tiny-bert', import.meta.url));

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('SentenceEncoder', () => {
  it('on onnxruntime equals the tfjs mean-pooled encoder within 1e-5, whatever the batching', async () => {
    const { model } = await loadBertCheckpoint(TINY_BERT);
    const bert = (model as { bert?: BertModel }).bert ?? (model as BertModel);
    const rows = [Int32Array.from([2, 17, 33, 4, 52, 9, 3]), Int32Array.from([2, 40, 3]), Int32Array.from([2, 8, 8, 3])];
    const encoder = await SentenceEncoder.fromDirectory(TINY_BERT);
    const together = await encoder.encode(rows, 3);
    const alone = await encoder.encode(rows, 1);
    expect(together).toHaveLength(3);
    expect(encoder.size).toBe(bert.config.hiddenSize);
    const ops = new TfOps(bert.params);
    rows.forEach((r, b) => {
      const want = tf.tidy(() => encodeSentences(ops, bert, { inputIds: tf.tensor2d(r, [1, r.length], 'int32'), attentionMask: tf.ones([1, r.length], 'int32') }).dataSync());
      const diff = (got: Float32Array) => Math.max(...got.map((v, j) => Math.abs(v - want[j])));
      expect(diff(together[b])).toBeLessThan(1e-5);
      expect(diff(alone[b])).toBeLessThan(1e-5);
    });
    await expect(encoder.encode(rows, 0)).rejects.toThrow(/batchSize must be an integer >= 1, got 0/);
    await encoder.release();
    model.dispose();
  });
});
