import type * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@proj/core';

/** Handed to `task.batch` and `task.loss` for one micro-batch. */
export interface StepContext {
  epoch: number;
  /** Index of this micro-batch within the epoch. */
  batchIndex: number;
  /** Optimizer steps completed before this micro-batch. */
  step: number;
  /**
   * A stream owned by this micro-batch (derived from the seed, the epoch and batchIndex), for
   * dropout, masking, diffusion timesteps and noise: a resumed run draws the same numbers.
   */
  rng: Rng;
  training: true;
  /**
   * Set by an engine that keeps the weights outside the task's Variables, or builds this
   * micro-batch ahead while the previous step still runs (`TrainEngine.prefetch`): a `batch()`
   * that reads the model's weights awaits it first, and the Variables then hold the weights this
   * micro-batch would have seen. Absent: they already do.
   */
  weightsReady?: () => Promise<void>;
}

/** A task's extra training scalars (`TrainTask.trainMetrics`). */
export interface TrainMetrics<B = unknown> {
  /**
   * Their names, in log order. Each train record carries each one's mean over the log interval,
   * averaged as the loss is; none may be one of the record's own fields (step, epoch, split,
   * loss, lr, grad_norm, tokens_per_s).
   */
  names: readonly string[];
  /**
   * The micro-batch's loss (the value `loss` gives, from `params()` so gradients reach them) and
   * each named scalar, from one forward pass: an engine calls it instead of `loss`.
   */
  lossAndMetrics(batch: B, ctx: StepContext): { loss: tf.Scalar; metrics: Record<string, tf.Scalar> };
}

export interface EvalContext {
  epoch: number;
  step: number;
}

/**
 * What a model family plugs into `train()`: a plain object, no base class. The trainer owns the
 * example order (a seeded permutation of 0..numExamples-1), micro-batching, accumulation,
 * clipping, the optimizer, EMA, evaluation timing, checkpoints and logs; the task owns data,
 * model and loss.
 *
 * - Gap-ReLM: one task per stage (infiller_pretrain, planner_train, joint_finetune) over the same
 *   Variables, each with its own `trainable` predicate, run as consecutive `train()` calls.
 * - Diffusion decoder: `loss` draws timesteps and noise from `ctx.rng`.
 * - Causal LM: examples are packed fixed-length windows; `tokens` counts real tokens.
 */
export interface TrainTask<B = unknown> {
  /** Short name for the banner, logs and trainer_state.json, e.g. "gap-relm/planner_train". */
  name: string;
  /** Model summary for the start-up banner (architecture, parameter counts). */
  describe(): string;
  /** All parameters by stable (checkpoint) name. The same Variables on every call. */
  params(): Map<string, tf.Variable>;
  /** Which parameters this run updates; default all. Frozen ones get no gradient, decay or EMA. */
  trainable?(name: string): boolean;
  /**
   * Parameters initialized here rather than loaded from a pretrained checkpoint (new heads,
   * prompts): their lr is config.head_lr_scale times the schedule's. Omit when nothing is pretrained.
   */
  newParameters?(): ReadonlySet<string>;
  /** Number of training examples; the trainer shuffles indices 0..n-1 each epoch. */
  numExamples(): number;
  /**
   * Size of example `index` in any unit that orders examples by the padded work they cost (tokens,
   * characters, bytes of the record), for `group_by_length`; omit when lengths are not known.
   */
  exampleLength?(index: number): number;
  /**
   * Builds the micro-batch of these examples; may be async (e.g. `await dataset.get(i)` from a
   * LazyJsonlDataset). Tensors created here or in `loss` are freed after the micro-step; tensors
   * created earlier (a cached dataset) are left alone — wrap a cache filled here in tf.keep.
   */
  batch(indices: readonly number[], ctx: StepContext): B | Promise<B>;
  /** Mean loss over the micro-batch, computed from `params()` so gradients reach them. */
  loss(batch: B, ctx: StepContext): tf.Scalar;
  /**
   * Extra scalars of each training step beside the loss (e.g. a mixture-of-experts model's
   * `aux_loss`), from the same forward pass; logged in the train records as the loss is. Omit for none.
   */
  trainMetrics?: TrainMetrics<B>;
  /** Tokens (or examples) in a batch, for the tokens/s figure; default the number of examples. */
  tokens?(batch: B): number;
  /** Dev-set metrics (e.g. {loss, f1}); with EMA on, runs with the averaged weights swapped in. */
  evaluate?(ctx: EvalContext): Promise<Record<string, number>> | Record<string, number>;
  /** Writes the weights into an existing directory (models: config.json + model.safetensors). */
  saveWeights(dir: string): Promise<void>;
  /** Reads weights written by `saveWeights` into the same Variables. */
  loadWeights(dir: string): Promise<void>;
}
