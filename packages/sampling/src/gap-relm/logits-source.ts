/**
 * What a Gap-ReLM model must implement for decoding. Backends (tfjs today, onnxruntime-node
 * later) wrap their model in these; decoding sees plain Float32Arrays only, so it never imports a
 * tensor library. Both calls are batched and async because an onnxruntime session is async and a
 * batch amortises the model call.
 */

/** One planner call: the tokenized source sentences of a batch. */
export interface PlannerBatch {
  /** Source tokens per sentence (one per code point by default). */
  sourceTokens: readonly (readonly string[])[];
}

/** Planner logits, one entry per sentence of the batch, in batch order. */
export interface PlannerLogits {
  /**
   * `(n + 1) × 3` row-major per sentence, n = its token count. Row 0 is the sentence-start slot,
   * row i + 1 source token i; columns are KEEP, DELETE, REPLACE (the `PlannerOp` ids).
   */
  opLogits: Float32Array[];
  /**
   * `(n + 1) × (K + 1)` row-major per sentence: column c scores inserting exactly c `[MASK]`s
   * after the slot. K (the model's `maxInsertK`) is read from the row width and must be the same
   * for every sentence of a call.
   */
  insertLogits: Float32Array[];
}

export interface PlannerLogitsSource {
  plan(batch: PlannerBatch): Promise<PlannerLogits>;
}

/** One infiller call: templates with `[MASK]`s to fill. */
export interface InfillerBatch {
  /** Source tokens per sentence (the infiller may condition on the source, as ReLM does). */
  sourceTokens: readonly (readonly string[])[];
  /** Template tokens per sentence: kept tokens, `[MASK]`s and (when refining) earlier fills. */
  templates: readonly (readonly string[])[];
  /** Indices into `templates[i]` of the slots to predict, ascending. */
  maskPositions: readonly (readonly number[])[];
}

/** Infiller logits, one entry per sentence of the batch, in batch order. */
export interface InfillerLogits {
  /** `masks × vocab.length` row-major per sentence: row j scores `vocab` at `maskPositions[i][j]`. */
  logits: Float32Array[];
}

export interface InfillerLogitsSource {
  /** Token strings by logit column. Special tokens (`[UNK]`, `[MASK]`, ...) may be present; they are never emitted. */
  readonly vocab: readonly string[];
  fill(batch: InfillerBatch): Promise<InfillerLogits>;
}
