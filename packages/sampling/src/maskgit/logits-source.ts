/**
 * What a denoiser (SGDD's bidirectional decoder, or any masked-token model) must implement for
 * MaskGIT decoding. A tfjs model wraps `tf.tensor2d(tokens, [batch, length], 'int32')` and
 * returns `await logits.data()`; an onnxruntime session wraps `new ort.Tensor('int32', tokens,
 * [batch, length])` and returns the output tensor's `data`. Decoding sees plain typed arrays only.
 */

/** One model call: every row of the batch at the current step. */
export interface DenoiserBatch {
  /** Rows in the batch (B). */
  batch: number;
  /** Row stride (L): the longest row's length. */
  length: number;
  /** `[B, L]` row-major: `maskId` where still masked, `padId` beyond a row's length. */
  tokens: Int32Array;
  /** Real length of each row (B entries); positions at or beyond it are padding, for the attention mask. */
  lengths: Int32Array;
  /** Step index, 0-based; with `steps`, gives the timestep / noise level the model conditions on. */
  step: number;
  steps: number;
  /** Fraction of each row's decodable positions still masked at this step (`[B]`), for models conditioned on the noise level. */
  maskedFraction: Float64Array;
  /**
   * `true`: condition on each row's sentence vector (the source knows which row is which
   * sentence). `false`: the null-condition pass of classifier-free guidance.
   */
  conditional: boolean;
}

/** One decoding step's rows, for both guidance passes (`DenoiserBatch` without `conditional`). */
export type DenoiserStep = Omit<DenoiserBatch, 'conditional'>;

export interface DenoiserLogitsSource {
  /** Logit columns (V). */
  readonly vocabSize: number;
  /** Token id of `[MASK]`; never emitted. */
  readonly maskId: number;
  /** Token id written beyond a row's length; never emitted. */
  readonly padId: number;
  /** `[B, L, V]` row-major logits. Only masked positions within a row's length are read. */
  denoise(batch: DenoiserBatch): Promise<Float32Array>;
  /**
   * Optional, the fast path `maskGitDecode` takes when present: logits only at `positions` (flat
   * b · L + i, the masked ones) for every pass in `passes` (true = conditional), all from one
   * model call (e.g. one session run over the 2B rows, the output projection only where read).
   * Returns one `[N, V]` row-major array per pass, in `passes` order (N = positions.length).
   */
  denoiseAt?(step: DenoiserStep, positions: Int32Array, passes: readonly boolean[]): Promise<Float32Array[]>;
  /**
   * Optional, the fast path of argmax decoding (`temperature` 0), taken before `denoiseAt`: per
   * position in `positions`, the candidate `maskGitDecode` would pick from the guided logits
   * (`uncond + guidanceScale · (cond − uncond)`, the passes `guidancePasses` names) and its
   * log-probability, computed where the logits are (e.g. inside an onnxruntime graph), so the
   * `[N, V]` logits never reach the host. Must agree with the host rule: the argmax over every
   * token but `maskId` and `padId`, ties to the lower id; the log-probability under the softmax
   * over those tokens.
   */
  candidatesAt?(step: DenoiserStep, positions: Int32Array, guidanceScale: number): Promise<DenoiserCandidates>;
}

/** What `candidatesAt` returns: one entry per asked position, in order. */
export interface DenoiserCandidates {
  /** `[N]` the guided argmax of each position. */
  tokens: Int32Array;
  /** `[N]` its log-probability under the guided distribution (<= 0). */
  logProbs: Float32Array;
}
