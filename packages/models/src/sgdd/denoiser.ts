import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { guidancePassList, type DenoiserBatch, type DenoiserCandidates, type DenoiserLogitsSource, type DenoiserStep } from '@proj/sampling';
import { float32Output, int64 } from '../onnx-runtime/tensors';
import { TfOps } from '../ops/tf-ops';
import { packVectors } from './batch';
import { SGDD_PASS_WEIGHTS } from './candidate-head';
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

/** `values` repeated `times` times, end to end. */
function repeat<A extends Int32Array | Float32Array>(values: A, times: number): A {
  const out = new (values.constructor as new (n: number) => A)(values.length * times);
  for (let k = 0; k < times; k++) out.set(values, k * values.length);
  return out;
}

/**
 * The row-bound part of a SGDD `DenoiserLogitsSource`: row b of every batch is `vectors[b]`,
 * the conditional pass uses it and the unconditional pass the learned null vector (guidance is
 * combined by `maskGitDecode`), and each step's masked fraction becomes the training timestep
 * with that mask probability (`timestepForMaskedFraction`). `denoiseAt` runs every pass of a step
 * as one decoder call over the rows stacked once per pass, with logits only at the asked
 * positions. Engines implement `run`.
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
    this.semantic = packVectors(vectors, semantic_size, fn);
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

  /** `[B, L, V]` logits of one pass. */
  async denoise(batch: DenoiserBatch): Promise<Float32Array> {
    const every = Int32Array.from({ length: batch.batch * batch.length }, (_, k) => k);
    return this.run(batch.tokens, batch.batch, batch.length, this.inputs(batch), every);
  }

  /** Every pass in `passes` from one decoder call over `passes.length` · B rows: `[N, V]` each. */
  async denoiseAt(step: DenoiserStep, positions: Int32Array, passes: readonly boolean[]): Promise<Float32Array[]> {
    const [N, V] = [positions.length, this.vocabSize];
    if (N === 0) return passes.map(() => new Float32Array(0));
    const x = this.stacked(step, positions, passes);
    const logits = await this.run(x.tokens, x.rows, step.length, x.inputs, x.positions);
    return passes.map((_, p) => logits.subarray(p * N * V, (p + 1) * N * V));
  }

  /**
   * One decoder call's feeds for every pass in `passes`: pass p is rows p·B .. p·B + B − 1 (its
   * vectors, or the null vector), and its positions move by p·B·L.
   */
  protected stacked(step: DenoiserStep, positions: Int32Array, passes: readonly boolean[]): { tokens: Int32Array; rows: number; inputs: SgddDenoiserInputs; positions: Int32Array } {
    const { batch: B, length: L } = step;
    const [P, N] = [passes.length, positions.length];
    const x = this.inputs({ ...step, conditional: true });
    const inputs: SgddDenoiserInputs = {
      attentionMask: repeat(x.attentionMask, P),
      timesteps: repeat(x.timesteps, P),
      semantic: repeat(x.semantic, P),
      condition: Float32Array.from({ length: P * B }, (_, r) => (passes[Math.floor(r / B)] ? 1 : 0)),
    };
    const at = new Int32Array(P * N);
    for (let p = 0; p < P; p++) for (let k = 0; k < N; k++) at[p * N + k] = positions[k] + p * B * L;
    return { tokens: repeat(step.tokens, P), rows: P * B, inputs, positions: at };
  }

  /** `[positions.length, V]` logits of `rows` rows of `length` tokens at the flat `positions`. */
  protected abstract run(tokens: Int32Array, rows: number, length: number, inputs: SgddDenoiserInputs, positions: Int32Array): Promise<Float32Array>;
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

  protected async run(tokens: Int32Array, rows: number, length: number, x: SgddDenoiserInputs, positions: Int32Array): Promise<Float32Array> {
    const logits = tf.tidy(() => {
      const { logits } = this.model.forward(
        this.ops,
        {
          inputIds: tf.tensor2d(tokens, [rows, length], 'int32'),
          attentionMask: tf.tensor2d(x.attentionMask, [rows, length], 'int32'),
          timesteps: tf.tensor1d(x.timesteps, 'int32'),
          semantic: tf.tensor2d(x.semantic, [rows, this.config.semantic_size]),
          condition: tf.tensor1d(x.condition),
        },
        { positions: tf.tensor1d(positions, 'int32') },
      );
      return logits!;
    });
    try {
      return (await logits.data()) as Float32Array;
    } finally {
      logits.dispose();
    }
  }
}

/**
 * The exported SGDD decoder (`sgddDecoderToOnnx`: logits at a `positions` input) on an
 * onnxruntime session, fed exactly what `SgddDenoiser` feeds tfjs. Pass the session of
 * `createOnnxSession` and the saved config.
 */
export class OnnxSgddDenoiser extends SgddDenoiserBase {
  /**
   * Argmax candidates picked inside the graph (its `candidates` head: `recordCandidateHead`), so
   * argmax decoding never copies `[N, V]` logits out; undefined for a decoder exported before the
   * head, which `maskGitDecode` then decodes from the logits.
   */
  readonly candidatesAt?: (step: DenoiserStep, positions: Int32Array, guidanceScale: number) => Promise<DenoiserCandidates>;
  private readonly headed: boolean;

  constructor(
    private readonly session: ort.InferenceSession,
    config: SgddConfig,
    vectors: readonly ArrayLike<number>[],
  ) {
    super(config, vectors, 'OnnxSgddDenoiser');
    if (!session.inputNames.includes('positions')) {
      throw new RangeError(`OnnxSgddDenoiser: the decoder has no 'positions' input (inputs: ${session.inputNames.join(', ')}); it predates logits at positions, export it again`);
    }
    this.headed = session.inputNames.includes(SGDD_PASS_WEIGHTS);
    if (this.headed) this.candidatesAt = (step, positions, guidanceScale) => this.candidates(step, positions, guidanceScale);
  }

  /** The same session bound to other rows. */
  withVectors(vectors: readonly ArrayLike<number>[]): OnnxSgddDenoiser {
    return new OnnxSgddDenoiser(this.session, this.config, vectors);
  }

  private feeds(tokens: Int32Array, rows: number, length: number, x: SgddDenoiserInputs, positions: Int32Array, passWeights: number[]): Record<string, ort.Tensor> {
    return {
      input_ids: int64(tokens, [rows, length]),
      attention_mask: int64(x.attentionMask, [rows, length]),
      timesteps: int64(x.timesteps, [rows]),
      semantic: new ort.Tensor('float32', x.semantic, [rows, this.config.semantic_size]),
      condition: new ort.Tensor('float32', x.condition, [rows]),
      positions: int64(positions, [positions.length]),
      ...(this.headed && { [SGDD_PASS_WEIGHTS]: new ort.Tensor('float32', Float32Array.from(passWeights), [passWeights.length]) }),
    };
  }

  protected async run(tokens: Int32Array, rows: number, length: number, x: SgddDenoiserInputs, positions: Int32Array): Promise<Float32Array> {
    const out = await this.session.run(this.feeds(tokens, rows, length, x, positions, [1]), ['logits']);
    return float32Output(out, 'logits', 'OnnxSgddDenoiser.denoise').data;
  }

  private async candidates(step: DenoiserStep, positions: Int32Array, guidanceScale: number): Promise<DenoiserCandidates> {
    const passes = guidancePassList(guidanceScale);
    // s·cond + (1 − s)·uncond = uncond + s·(cond − uncond); one pass alone has weight 1.
    const weights = passes.length === 2 ? [guidanceScale, 1 - guidanceScale] : [1];
    const x = this.stacked(step, positions, passes);
    const out = await this.session.run(this.feeds(x.tokens, x.rows, step.length, x.inputs, x.positions, weights), ['candidates', 'candidate_log_probs']);
    const tokens = out.candidates as ort.Tensor | undefined;
    if (tokens === undefined || tokens.type !== 'int64') throw new Error("OnnxSgddDenoiser.candidatesAt: the session returned no int64 output 'candidates'");
    return { tokens: Int32Array.from(tokens.data as BigInt64Array, Number), logProbs: float32Output(out, 'candidate_log_probs', 'OnnxSgddDenoiser.candidatesAt').data };
  }
}
