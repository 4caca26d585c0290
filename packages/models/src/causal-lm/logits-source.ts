import * as tf from '@tensorflow/tfjs-core';
import type { CausalBatch, CausalLogits, CausalLogitsSource } from '@proj/sampling';
import type { KeyValueCache } from '../layers/attention';
import { TfOps } from '../ops/tf-ops';
import type { CausalLm } from './model';

export interface TfCausalLmSourceOptions {
  /**
   * Keep each layer's keys and values between calls (KV cache), so a step runs one position per
   * row. Used when every prompt of the batch has the same length (no padding to mask); ragged
   * batches recompute the full sequences. Default true.
   */
  cache?: boolean;
}

/**
 * TfOps for decoding with weights that do not change: the transposed weight matrices every
 * linear layer and the tied output projection ask for (`transpose(W, [1, 0])`) are made once and
 * kept until `release()`. Transposing every matrix at every step was a third of a minimind step on
 * tfjs-wasm, and a new tensor each step also made the wasm backend repack it for its matrix
 * kernel (the other half).
 */
class FrozenWeightOps extends TfOps {
  private readonly transposed = new Map<tf.Tensor, tf.Tensor>();

  override transpose(x: tf.Tensor, perm: number[]): tf.Tensor {
    if (!(x instanceof tf.Variable && perm.length === 2 && perm[0] === 1 && perm[1] === 0)) return super.transpose(x, perm);
    let t = this.transposed.get(x);
    if (t === undefined) {
      t = tf.keep(super.transpose(x, perm));
      this.transposed.set(x, t);
    }
    return t;
  }

  release(): void {
    tf.dispose([...this.transposed.values()]);
    this.transposed.clear();
  }
}

/** The cache handed back and forth through `generate`: one key/value pair per layer. */
interface TfKvCache {
  layers: KeyValueCache<tf.Tensor>[];
}

/**
 * `CausalLm` on tfjs as the `CausalLogitsSource` of `generate` in @proj/sampling. With the KV
 * cache (default, for equal-length prompts) each step feeds one token per row and RoPE positions
 * continue from the cached length; otherwise every call runs the full sequences, rows grouped by
 * length. The model's weights must not change while the source is in use (it keeps their
 * transposes); call `dispose()` after generating to free them and the last cache.
 */
export class TfCausalLmSource implements CausalLogitsSource {
  readonly vocabSize: number;
  private readonly ops: FrozenWeightOps;
  private readonly useCache: boolean;
  private live: TfKvCache | undefined;

  constructor(
    private readonly model: CausalLm,
    options: TfCausalLmSourceOptions = {},
  ) {
    this.vocabSize = model.config.vocab_size;
    this.ops = new FrozenWeightOps(model.params);
    this.useCache = options.cache ?? true;
  }

  async next(batch: CausalBatch): Promise<CausalLogits> {
    const { tokens } = batch;
    tokens.forEach((row, b) => {
      if (row.length === 0) throw new RangeError(`TfCausalLmSource.next: row ${b} is empty`);
    });
    const cached = batch.cache as TfKvCache | undefined;
    const total = (cached === undefined ? 0 : (cached.layers[0].key.shape[2] as number)) + tokens[0].length;
    if (total > this.model.config.max_position_embeddings || tokens.some((row) => row.length > this.model.config.max_position_embeddings)) {
      throw new RangeError(`TfCausalLmSource.next: a row is longer than max_position_embeddings ${this.model.config.max_position_embeddings}`);
    }
    if (cached !== undefined || (this.useCache && tokens.every((row) => row.length === tokens[0].length))) return this.cachedStep(tokens, cached);
    return { logits: this.fullRecompute(tokens) };
  }

  /** Frees the last KV cache and the transposed weights (the source stays usable; they are remade). */
  dispose(): void {
    if (this.live) tf.dispose(this.live.layers.flatMap((kv) => [kv.key, kv.value]));
    this.live = undefined;
    this.ops.release();
  }

  private cachedStep(tokens: readonly (readonly number[])[], past: TfKvCache | undefined): CausalLogits {
    const [rows, length, vocab] = [tokens.length, tokens[0].length, this.vocabSize];
    const [last, ...kv] = tf.tidy(() => {
      const ids = tf.tensor2d(Int32Array.from(tokens.flat()), [rows, length], 'int32');
      const { logits, present } = this.model.forwardWithCache(this.ops, ids, past?.layers);
      return [tf.slice(logits, [0, length - 1, 0], [rows, 1, vocab]), ...present.flatMap((p) => [p.key, p.value])];
    });
    const logits = last.dataSync() as Float32Array;
    last.dispose();
    if (past) tf.dispose(past.layers.flatMap((p) => [p.key, p.value]));
    const layers = Array.from({ length: kv.length / 2 }, (_, i) => ({ key: kv[2 * i], value: kv[2 * i + 1] }));
    this.live = { layers };
    return { logits: Float32Array.from(logits), cache: this.live };
  }

  private fullRecompute(tokens: readonly (readonly number[])[]): Float32Array {
    const vocab = this.vocabSize;
    const logits = new Float32Array(tokens.length * vocab);
    const byLength = new Map<number, number[]>();
    tokens.forEach((row, b) => byLength.set(row.length, [...(byLength.get(row.length) ?? []), b]));
    for (const [length, rows] of byLength) {
      const ids = Int32Array.from(rows.flatMap((b) => tokens[b]));
      const last = tf.tidy(() => {
        const all = this.model.forward(this.ops, tf.tensor2d(ids, [rows.length, length], 'int32'));
        return tf.slice(all, [0, length - 1, 0], [rows.length, 1, vocab]).dataSync() as Float32Array;
      });
      rows.forEach((b, k) => logits.set(last.subarray(k * vocab, (k + 1) * vocab), b * vocab));
    }
    return logits;
  }
}
