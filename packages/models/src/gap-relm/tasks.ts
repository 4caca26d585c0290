// The stages of Gap-ReLM training and the options of their task (`createOpsStageTask`).
import type { GapRelmDecodeConfig } from '@proj/sampling';
import type { OnnxSessionOptions } from '../onnx-runtime/session';
import type { ExampleSource } from './example-source';

export type StageName = 'infiller_pretrain' | 'planner_train' | 'joint_finetune';
export const STAGES: readonly StageName[] = Object.freeze(['infiller_pretrain', 'planner_train', 'joint_finetune']);

/** Fraction of source tokens masked by the auxiliary MLM (BERT's rate). */
export const AUX_MLM_RATE = 0.15;

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
