import * as tf from '@tensorflow/tfjs-core';
import { PlannerOp } from '@proj/align';
import { Rng } from '@proj/core';
import type { GapRelmDecodeConfig } from '@proj/sampling';
import type { StepContext, TrainTask } from '@proj/trainer';
import type { OnnxSessionOptions } from '../onnx-runtime/session';
import { TfOps } from '../ops/tf-ops';
import type { ExampleSource } from './example-source';
import { GapRelm } from './gap-relm';
import type { PaddedInputs } from './inputs';
import { auxMlmInputs, encodeBatch, scheduleBatch, stageEvaluator, stageTrainable } from './stage-parts';
import type { EncodedExample } from './tokens';

export type StageName = 'infiller_pretrain' | 'planner_train' | 'joint_finetune';
export const STAGES: readonly StageName[] = Object.freeze(['infiller_pretrain', 'planner_train', 'joint_finetune']);

/** Fraction of source tokens masked by the auxiliary MLM (BERT's rate). */
export const AUX_MLM_RATE = 0.15;

const IGNORE = -100;

/** A micro-batch: examples as ids, and which of them still train the infiller on their template. */
export interface GapRelmBatch {
  examples: EncodedExample[];
  /** This batch's infiller templates came from the planner's argmax (scheduled sampling). */
  scheduled: boolean;
  /** Per example: its (gold) fills fit the template the infiller sees. */
  infill: boolean[];
  /** Non-padding model input positions of the batch. */
  tokens: number;
}

/** How often joint_finetune trained the infiller on the planner's own templates. */
export interface ScheduledSamplingStats {
  batches: number;
  scheduledBatches: number;
  /** Examples of scheduled batches whose predicted template equalled the gold one (infill loss kept). */
  examplesKept: number;
  /** Examples of scheduled batches whose predicted template differed (infill loss skipped). */
  examplesSkipped: number;
}

/**
 * Scheduled-sampling probability at optimizer step `step` of a stage of `totalSteps`: a linear
 * ramp from `start` (step 0) to `end` (the last step).
 */
export function scheduledSamplingProbability(step: number, totalSteps: number, start: number, end: number): number {
  if (totalSteps <= 1) return end;
  return start + (end - start) * Math.min(1, Math.max(0, step / (totalSteps - 1)));
}

export interface StageTaskOptions {
  train: ExampleSource;
  dev?: ExampleSource;
  /** Decoding for the dev F1. */
  decode?: Partial<GapRelmDecodeConfig>;
  /**
   * Where dev evaluation runs: tfjs (default), or onnxruntime sessions on the current weights (the
   * loss graph, and `OnnxGapRelm.fromModel` for decoding), which the onnx engine uses: on
   * tfjs-wasm the dev evaluation of the demo took minutes, longer than its training steps.
   * `createStageTask` (tfjs only) computes its dev loss on tfjs either way.
   */
  evalEngine?: 'tfjs' | 'onnx';
  /** onnxruntime sessions of `evalEngine: 'onnx'` (providers, threads). */
  evalSessions?: OnnxSessionOptions;
  /** Dev examples scored (loss and F1); default 200. */
  devEvalLimit?: number;
  /** Optimizer steps of this stage (the scheduled-sampling ramp); default: p = ss_end throughout. */
  totalSteps?: number;
  /** Micro-batch size used by evaluate() for the dev loss; default 16. */
  evalBatchSize?: number;
  /** Where scheduled-sampling counts are reported after each evaluation; null = silent. */
  log?: NodeJS.WritableStream | null;
}

export interface GapRelmTask extends TrainTask<GapRelmBatch> {
  readonly stage: StageName;
  /** Scheduled-sampling counts so far (joint_finetune only; zeros otherwise). */
  readonly stats: ScheduledSamplingStats;
  /** The stage's loss terms of a batch, before weighting; a term that does not apply is absent. */
  lossTerms(batch: GapRelmBatch, training?: { rng: Rng }): { planner?: tf.Scalar; infill?: tf.Scalar; aux?: tf.Scalar };
}

/**
 * A @proj/trainer task for one Gap-ReLM stage over the model's Variables:
 * - infiller_pretrain: the infiller on gold templates (+ μ · auxiliary MLM); trains `infiller.*`
 *   and the infiller's prompts (shared prompts included).
 * - planner_train: op + insert cross-entropy; trains `planner.*` and the planner's prompts; the
 *   infiller is frozen through `trainable`.
 * - joint_finetune: planner + λ · infill + μ · aux, everything trainable, with scheduled sampling:
 *   with probability p(step) (linear from ss_start to ss_end over the stage) a batch's templates
 *   are the current planner's argmax decode (computed in `batch()`, outside the gradient tape).
 *   The gold fills only fit a template equal to the gold one, so the infill loss is kept for
 *   those examples and skipped for the rest — for the whole batch when none match.
 */
export function createStageTask(stage: StageName, model: GapRelm, options: StageTaskOptions): GapRelmTask {
  if (!STAGES.includes(stage)) throw new RangeError(`createStageTask: stage must be one of ${STAGES.join(', ')}, got ${JSON.stringify(stage)}`);
  const { train, dev } = options;
  const cfg = model.config;
  const ops = new TfOps(model.store);
  const stats: ScheduledSamplingStats = { batches: 0, scheduledBatches: 0, examplesKept: 0, examplesSkipped: 0 };
  const usesPlanner = stage !== 'infiller_pretrain';
  const usesInfiller = stage !== 'planner_train';
  const auxOn = usesInfiller && cfg.aux_mlm_weight > 0;

  // ---- loss terms (TfOps; differentiable) ----
  const plannerLoss = (examples: EncodedExample[], training?: { rng: Rng }): tf.Scalar => {
    const x = model.plannerInputs(examples.map((e) => e.source));
    const out = model.planner(ops, GapRelm.tensors(x), training);
    const slots = out.opLogits.shape[1] as number;
    const opTargets = new Int32Array(examples.length * slots).fill(IGNORE);
    const insTargets = new Int32Array(examples.length * slots).fill(IGNORE);
    examples.forEach((e, b) => {
      for (let s = 0; s < e.opLabels.length; s++) {
        // Slot 0 is always KEEP (nothing to learn); DELETE is not trained in the no_delete ablation.
        if (s > 0 && !(cfg.no_delete && e.opLabels[s] === PlannerOp.DELETE)) opTargets[b * slots + s] = e.opLabels[s];
        insTargets[b * slots + s] = e.insertLabels[s];
      }
    });
    const opLoss = ops.crossEntropy(ops.reshape(out.opLogits, [-1, 3]), tf.tensor1d(opTargets, 'int32'), IGNORE);
    if (cfg.no_insert) return opLoss as tf.Scalar;
    const insLoss = ops.crossEntropy(ops.reshape(out.insertLogits, [-1, cfg.max_insert_k + 1]), tf.tensor1d(insTargets, 'int32'), IGNORE);
    return tf.add(opLoss, insLoss) as tf.Scalar;
  };

  const infillLoss = (examples: EncodedExample[], training?: { rng: Rng }): tf.Scalar | undefined => {
    if (examples.every((e) => e.maskPositions.length === 0)) return undefined;
    const x = model.infillerInputs(examples.map((e) => e.source), examples.map((e) => e.template), examples.map((e) => e.maskPositions));
    const logits = model.infiller(ops, GapRelm.tensors(x), tf.tensor1d(x.positions, 'int32'), training);
    return ops.crossEntropy(logits, tf.tensor1d(Int32Array.from(examples.flatMap((e) => e.gold)), 'int32'), IGNORE) as tf.Scalar;
  };

  const auxLoss = (examples: EncodedExample[], rng: Rng, training?: { rng: Rng }): tf.Scalar | undefined => {
    const { x, labels } = auxMlmInputs(model, examples, rng);
    if (labels.length === 0) return undefined;
    const logits = model.infiller(ops, GapRelm.tensors(x), tf.tensor1d(x.positions, 'int32'), training);
    return ops.crossEntropy(logits, tf.tensor1d(labels, 'int32'), IGNORE) as tf.Scalar;
  };

  const lossTerms: GapRelmTask['lossTerms'] = (batch, training) => {
    const terms: { planner?: tf.Scalar; infill?: tf.Scalar; aux?: tf.Scalar } = {};
    if (usesPlanner) terms.planner = plannerLoss(batch.examples, training);
    if (usesInfiller) {
      const kept = batch.examples.filter((_, i) => batch.infill[i]);
      if (kept.length > 0) terms.infill = infillLoss(kept, training);
      // The masking stream: the batch's rng when training, a fixed one so the dev loss is comparable.
      if (auxOn) terms.aux = auxLoss(batch.examples, training?.rng ?? new Rng(0), training);
    }
    return terms;
  };
  const combine = (t: ReturnType<GapRelmTask['lossTerms']>): tf.Scalar => {
    // A batch with no term (infiller_pretrain on examples without [MASK], aux off) is a zero-loss
    // step: 0 · Σ weights keeps a path to the trainable weights, so their gradients are zeros
    // rather than variableGrads throwing "no path".
    if (!t.planner && !t.infill && !t.aux) {
      const weights = [...model.params()].filter(([name]) => trainable(name)).map(([, v]) => tf.sum(v) as tf.Scalar);
      return tf.mul(weights.reduce((a, b) => tf.add(a, b)), 0) as tf.Scalar;
    }
    let loss: tf.Scalar = tf.scalar(0);
    if (t.planner) loss = tf.add(loss, t.planner);
    if (t.infill) loss = tf.add(loss, stage === 'joint_finetune' ? tf.mul(t.infill, cfg.infill_weight) : t.infill);
    if (t.aux) loss = tf.add(loss, tf.mul(t.aux, cfg.aux_mlm_weight));
    return loss;
  };

  const countTokens = (x: PaddedInputs) => x.attentionMask.reduce((s, v) => s + v, 0);

  const batch = async (indices: readonly number[], ctx: StepContext): Promise<GapRelmBatch> => {
    const examples = await encodeBatch(model, stage, train, indices, ctx);
    const { infill, scheduled } = await scheduleBatch(stage, model, examples, ctx, options.totalSteps, stats);
    let tokens = 0;
    if (usesPlanner) tokens += countTokens(model.plannerInputs(examples.map((e) => e.source)));
    if (usesInfiller) tokens += countTokens(model.infillerInputs(examples.map((e) => e.source), examples.map((e) => e.template), examples.map((e) => e.maskPositions)));
    return { examples, scheduled, infill, tokens };
  };

  // ---- evaluation: dev loss and sentence-level correction P/R/F1 ----
  const devLosses = async (batches: EncodedExample[][]): Promise<number[]> => {
    const losses: number[] = [];
    for (const examples of batches) {
      const value = tf.tidy(() => combine(lossTerms({ examples, scheduled: false, infill: examples.map(() => true), tokens: 0 })));
      losses.push((await value.data())[0]);
      value.dispose();
    }
    return losses;
  };
  const evaluate = dev ? stageEvaluator(stage, model, dev, options, stats, devLosses) : undefined;
  const trainable = stageTrainable(stage, model);

  return {
    name: `gap-relm/${stage}`,
    stage,
    stats,
    describe: () => `${model.describe()}; data ${train.describe()}`,
    params: () => model.params(),
    trainable,
    numExamples: () => train.length,
    batch,
    loss: (b, ctx) => combine(lossTerms(b, { rng: ctx.rng })),
    lossTerms,
    tokens: (b) => b.tokens,
    ...(evaluate ? { evaluate } : {}),
    saveWeights: (dir) => model.save(dir),
    loadWeights: (dir) => model.loadWeights(dir),
  };
}
