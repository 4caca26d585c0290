import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import type { DenoiserBatch, DenoiserLogitsSource } from '@proj/sampling';
import { float32Output, int64 } from '../onnx-runtime/tensors';
import { TfOps } from '../ops/tf-ops';
import type { SgddConfig } from './config';
import type { SgddModel } from './model';
import { timestepForMaskedFraction } from './schedule';

/** What one denoising call feeds the decoder, on the host (the same for tfjs and onnxruntime). */
export interface SgddDenoiserInputs {
  attentionMask: Int32Array;
  timesteps: Int32Array;
  semantic: Float32Array;
  condition: Float32Array;
}

/**
 * The row-bound part of a SGDD `DenoiserLogitsSource`: row b of every batch is `vectors[b]`,
 * the conditional pass uses it and the unconditional pass the learned null vector (guidance is
 * combined by `maskGitDecode`), and each step's masked fraction becomes the training timestep
 * with that mask probability (`timestepForMaskedFraction`). Engines implement `run`.
 */
abstract class SgddDenoiserBase implements DenoiserLogitsSource {
  readonly vocabSize: number;
  readonly maskId: number;
  readonly padId: number;
  protected readonly semantic: Float32Array;

  constructor(
    readonly config: SgddConfig,
    vectors: readonly ArrayLike<number>[],
    private readonly fn: string,
  ) {
    const { vocab_size, mask_token_id, pad_token_id, semantic_size } = config;
    [this.vocabSize, this.maskId, this.padId] = [vocab_size, mask_token_id, pad_token_id];
    this.semantic = new Float32Array(vectors.length * semantic_size);
    vectors.forEach((v, b) => {
      if (v.length !== semantic_size) throw new RangeError(`${fn}: vectors[${b}] has ${v.length} values, semantic_size is ${semantic_size}`);
      this.semantic.set(v, b * semantic_size);
    });
  }

  /** The timestep each row is given: the one whose mask probability is nearest its masked fraction. */
  timesteps(maskedFraction: ArrayLike<number>): Int32Array {
    return Int32Array.from(maskedFraction, (f) => timestepForMaskedFraction(f, this.config.num_timesteps));
  }

  /** The decoder inputs besides the tokens. */
  inputs(batch: DenoiserBatch): SgddDenoiserInputs {
    const { batch: B, length: L } = batch;
    const E = this.config.semantic_size;
    if (B * E !== this.semantic.length) throw new RangeError(`${this.fn}.denoise: batch has ${B} rows, the source is bound to ${this.semantic.length / E} vectors`);
    const attentionMask = new Int32Array(B * L);
    for (let b = 0; b < B; b++) attentionMask.fill(1, b * L, b * L + batch.lengths[b]);
    return { attentionMask, timesteps: this.timesteps(batch.maskedFraction), semantic: this.semantic, condition: new Float32Array(B).fill(batch.conditional ? 1 : 0) };
  }

  async denoise(batch: DenoiserBatch): Promise<Float32Array> {
    return this.run(batch, this.inputs(batch));
  }

  protected abstract run(batch: DenoiserBatch, inputs: SgddDenoiserInputs): Promise<Float32Array>;
}

/** The SGDD decoder on tfjs as a `DenoiserLogitsSource` for `maskGitDecode` of @proj/sampling. */
export class SgddDenoiser extends SgddDenoiserBase {
  private readonly ops: TfOps;

  constructor(
    private readonly model: SgddModel,
    vectors: readonly ArrayLike<number>[],
  ) {
    super(model.config, vectors, 'SgddDenoiser');
    this.ops = new TfOps(model.params);
  }

  protected async run(batch: DenoiserBatch, x: SgddDenoiserInputs): Promise<Float32Array> {
    const { batch: B, length: L } = batch;
    const logits = tf.tidy(() => {
      const { fullLogits } = this.model.forward(
        this.ops,
        {
          inputIds: tf.tensor2d(batch.tokens, [B, L], 'int32'),
          attentionMask: tf.tensor2d(x.attentionMask, [B, L], 'int32'),
          timesteps: tf.tensor1d(x.timesteps, 'int32'),
          semantic: tf.tensor2d(x.semantic, [B, this.config.semantic_size]),
          condition: tf.tensor1d(x.condition),
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

/**
 * The exported SGDD decoder (`exportSgddDecoderToOnnx`) on an onnxruntime session, fed exactly
 * what `SgddDenoiser` feeds tfjs. Pass the session of `createOnnxSession` and the saved config.
 */
export class OnnxSgddDenoiser extends SgddDenoiserBase {
  constructor(
    private readonly session: ort.InferenceSession,
    config: SgddConfig,
    vectors: readonly ArrayLike<number>[],
  ) {
    super(config, vectors, 'OnnxSgddDenoiser');
  }

  /** The same session bound to other rows. */
  withVectors(vectors: readonly ArrayLike<number>[]): OnnxSgddDenoiser {
    return new OnnxSgddDenoiser(this.session, this.config, vectors);
  }

  protected async run(batch: DenoiserBatch, x: SgddDenoiserInputs): Promise<Float32Array> {
    const { batch: B, length: L } = batch;
    const out = await this.session.run({
      input_ids: int64(batch.tokens, [B, L]),
      attention_mask: int64(x.attentionMask, [B, L]),
      timesteps: int64(x.timesteps, [B]),
      semantic: new ort.Tensor('float32', x.semantic, [B, this.config.semantic_size]),
      condition: new ort.Tensor('float32', x.condition, [B]),
    });
    return float32Output(out, 'logits', 'OnnxSgddDenoiser.denoise').data;
  }
}
