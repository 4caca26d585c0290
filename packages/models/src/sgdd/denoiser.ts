import * as tf from '@tensorflow/tfjs-core';
import type { DenoiserBatch, DenoiserLogitsSource } from '@proj/sampling';
import { TfOps } from '../ops/tf-ops';
import type { SgddModel } from './model';
import { timestepForMaskedFraction } from './schedule';

/**
 * The SGDD decoder (tfjs) as a `DenoiserLogitsSource` for `maskGitDecode` of @proj/sampling.
 * Row b of every batch is bound to `vectors[b]`, its frozen-encoder sentence vector; the
 * conditional pass uses it, the unconditional pass the learned null vector (guidance is
 * combined by `maskGitDecode`). Each step's masked fraction is mapped back to the training
 * timestep with the same mask probability (`timestepForMaskedFraction`).
 */
export class SgddDenoiser implements DenoiserLogitsSource {
  readonly vocabSize: number;
  readonly maskId: number;
  readonly padId: number;
  private readonly semantic: Float32Array;
  private readonly ops: TfOps;

  constructor(
    private readonly model: SgddModel,
    vectors: readonly ArrayLike<number>[],
  ) {
    const { vocab_size, mask_token_id, pad_token_id, semantic_size } = model.config;
    [this.vocabSize, this.maskId, this.padId] = [vocab_size, mask_token_id, pad_token_id];
    this.semantic = new Float32Array(vectors.length * semantic_size);
    vectors.forEach((v, b) => {
      if (v.length !== semantic_size) throw new RangeError(`SgddDenoiser: vectors[${b}] has ${v.length} values, semantic_size is ${semantic_size}`);
      this.semantic.set(v, b * semantic_size);
    });
    this.ops = new TfOps(model.params);
  }

  /** The timestep each row is given: the one whose mask probability is nearest its masked fraction. */
  timesteps(maskedFraction: ArrayLike<number>): Int32Array {
    return Int32Array.from(maskedFraction, (f) => timestepForMaskedFraction(f, this.model.config.num_timesteps));
  }

  async denoise(batch: DenoiserBatch): Promise<Float32Array> {
    const { batch: B, length: L } = batch;
    const E = this.model.config.semantic_size;
    if (B * E !== this.semantic.length) throw new RangeError(`SgddDenoiser.denoise: batch has ${B} rows, the source is bound to ${this.semantic.length / E} vectors`);
    const mask = new Int32Array(B * L);
    for (let b = 0; b < B; b++) mask.fill(1, b * L, b * L + batch.lengths[b]);
    const logits = tf.tidy(() => {
      const { fullLogits } = this.model.forward(
        this.ops,
        {
          inputIds: tf.tensor2d(batch.tokens, [B, L], 'int32'),
          attentionMask: tf.tensor2d(mask, [B, L], 'int32'),
          timesteps: tf.tensor1d(this.timesteps(batch.maskedFraction), 'int32'),
          semantic: tf.tensor2d(this.semantic, [B, E]),
          condition: tf.fill([B], batch.conditional ? 1 : 0, 'float32'),
        },
        { fullLogits: true },
      );
      return fullLogits!;
    });
    try {
      return (await logits.data()) as Float32Array;
    } finally {
      logits.dispose();
    }
  }
}
