import type * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from './config';
import type { EmaState } from './ema';
import type { OptimizerState } from './optimizers/optimizer';
import type { StepContext, TrainTask } from './task';

/** What `TrainEngine.microStep` returns for one micro-batch. */
export interface MicroStepResult {
  /** The micro-batch's mean loss (not divided by the group size). */
  loss: number;
  tokens: number;
  /** The task's `trainMetrics` by name; absent or empty when it declares none. */
  metrics?: Record<string, number>;
}

/** A later optimizer step of one micro-batch that `microStep` may take in the same call (`TrainEngine.maxStepsPerRun`). */
export interface AheadStep {
  indices: readonly number[];
  ctx: StepContext;
  /** The step's learning rate. */
  lr: number;
}

/** What `train()` hands an engine factory once the config is parsed and the trainable set is known. */
export interface EngineSetup<B> {
  config: TrainConfig;
  task: TrainTask<B>;
  /** The trainable subset of `task.params()`, by checkpoint name. */
  trainable: ReadonlyMap<string, tf.Variable>;
  /**
   * Multiplier of the step's lr per trainable parameter (config.head_lr_scale for the task's new
   * parameters); default 1 for all.
   */
  lrScale?: (name: string) => number;
}

/**
 * Where the arithmetic of a training step runs. `train()` owns everything else (example order,
 * groups, the LR schedule, logs, evaluation timing, early stopping, checkpoint files); an engine
 * owns the weights while it trains, the gradient sums, clipping, the optimizer moments and the EMA
 * averages. The task's Variables are the shared format: an engine that keeps weights elsewhere
 * (onnxruntime's host arrays) writes them into the Variables when `train()` asks (`syncToTask`)
 * and reads them back after a checkpoint is loaded (`syncFromTask`), and its optimizer and EMA
 * state go through the same `OptimizerState` / `EmaState` as tfjs's, so a run started on one
 * engine resumes on another.
 */
export interface TrainEngine {
  /** For the banner, e.g. "tfjs (cpu)" or "onnxruntime (cpu, 2 threads)". */
  readonly name: string;
  /**
   * One micro-batch: builds it (`task.batch(indices, ctx)`), adds the gradients of
   * loss / groupSize to the sums, returns the micro-batch's mean loss, its token count and, when
   * the task declares `trainMetrics`, each of them from the same forward pass.
   * `lr` is the learning rate of the optimizer step this micro-batch belongs to, so an engine may
   * apply the update in the same run when groupSize is 1 (`optimizerStep` then gets the same lr).
   */
  microStep(indices: readonly number[], ctx: StepContext, groupSize: number, lr: number, ahead?: readonly AheadStep[]): Promise<MicroStepResult>;
  /**
   * Optional: how many optimizer steps of one micro-batch each this engine can take in one
   * `microStep` call (default 1). `train()` then passes up to `min(this, steps_per_run) − 1`
   * following steps as `ahead`, only such that nothing reads the weights between them (no log
   * record, evaluation, hook, checkpoint, time check or epoch end after any but the last), and
   * then calls `microStep` and `optimizerStep` for each of them in order with the same indices,
   * ctx and lr: the engine returns the results it computed, with the steps' announced order and
   * lrs checked.
   */
  readonly maxStepsPerRun?: number;
  /**
   * Optional: the micro-batch the next `microStep` call will get (its indices and context), told
   * before the current one, so the engine may build it while the current step runs. It must come
   * out the same as built later: it draws from its own `ctx.rng`, and `ctx.weightsReady` (set by
   * the engine) holds back a batch that reads the weights until they are the ones it would see.
   */
  prefetch?(indices: readonly number[], ctx: StepContext): void;
  /**
   * At a group boundary: clips the summed gradient once, applies the optimizer at `lr`, updates
   * the EMA, empties the sums. Returns the global norm before clipping.
   */
  optimizerStep(lr: number): Promise<number>;
  /** Runs `fn` (evaluation, saving best/) with the weights to evaluate in the task's Variables: the EMA averages when EMA is on. */
  withEvalWeights<R>(fn: () => Promise<R>): Promise<R>;
  /** Puts the engine's raw weights into the task's Variables (before saving a checkpoint, and at the end). */
  syncToTask(): Promise<void>;
  /** Takes the weights from the task's Variables (after a checkpoint was loaded into them). */
  syncFromTask(): Promise<void>;
  /** Optimizer moments and step in the checkpoint format. */
  readonly optimizer: { exportState(): OptimizerState; importState(state: OptimizerState): void };
  /** EMA averages in the checkpoint format; null when EMA is off. */
  readonly ema: { exportState(): EmaState; importState(state: EmaState): void } | null;
  /** Frees what the engine holds (tensors, sessions); the task's Variables stay. */
  dispose(): Promise<void>;
}

/** `TrainOptions.engine`: builds the engine for one `train()` call. */
export type EngineFactory<B> = (setup: EngineSetup<B>) => TrainEngine | Promise<TrainEngine>;
