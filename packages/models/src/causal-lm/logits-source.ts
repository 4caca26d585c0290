import * as tf from '@tensorflow/tfjs-core';
import type { CausalBatch, CausalLogits, CausalLogitsSource } from '@proj/sampling';
import { TfOps } from '../ops/tf-ops';
import type { CausalLm } from './model';

/**
 * `CausalLm` on tfjs as the `CausalLogitsSource` of `generate` in @proj/sampling, without a KV
 * cache yet: every call runs the full sequences (rows grouped by length, so no padding is needed)
 * and returns the logits of each row's last position.
 */
export class TfCausalLmSource implements CausalLogitsSource {
  readonly vocabSize: number;
  private readonly ops: TfOps;

  constructor(private readonly model: CausalLm) {
    this.vocabSize = model.config.vocab_size;
    this.ops = new TfOps(model.params);
  }

  async next(batch: CausalBatch): Promise<CausalLogits> {
    const { tokens } = batch;
    const vocab = this.vocabSize;
    const logits = new Float32Array(tokens.length * vocab);
    const byLength = new Map<number, number[]>();
    tokens.forEach((row, b) => {
      if (row.length === 0) throw new RangeError(`TfCausalLmSource.next: row ${b} is empty`);
      if (row.length > this.model.config.max_position_embeddings) {
        throw new RangeError(`TfCausalLmSource.next: row ${b} has ${row.length} tokens, more than max_position_embeddings ${this.model.config.max_position_embeddings}`);
      }
      byLength.set(row.length, [...(byLength.get(row.length) ?? []), b]);
    });
    for (const [length, rows] of byLength) {
      const ids = Int32Array.from(rows.flatMap((b) => tokens[b]));
      const last = tf.tidy(() => {
        const all = this.model.forward(this.ops, tf.tensor2d(ids, [rows.length, length], 'int32'));
        return tf.slice(all, [0, length - 1, 0], [rows.length, 1, vocab]).dataSync() as Float32Array;
      });
      rows.forEach((b, k) => logits.set(last.subarray(k * vocab, (k + 1) * vocab), b * vocab));
    }
    return { logits };
  }
}
