// Public API of @proj/sampling.

// Math shared by decoders
export { softmaxRows } from './softmax';

// Gap-ReLM: what a model must implement
export {
  type PlannerBatch,
  type PlannerLogits,
  type PlannerLogitsSource,
  type InfillerBatch,
  type InfillerLogits,
  type InfillerLogitsSource,
} from './gap-relm/logits-source';

// Gap-ReLM: configuration
export {
  DEFAULT_GAP_RELM_DECODE_CONFIG,
  DEFAULT_SPECIAL_TOKENS,
  resolveGapRelmDecodeConfig,
  type GapRelmDecodeConfig,
} from './gap-relm/config';

// Gap-ReLM: decoding stages
export {
  PLANNER_OPS,
  plannerProbabilities,
  decodePlan,
  type PlannerProbabilities,
  type PlanThresholds,
  type SentencePlan,
} from './gap-relm/plan';
export { fillTemplates, type FillItem, type FillResult, type FillOptions } from './gap-relm/fill';
export { correct, type Correction, type CorrectionEdit, type CorrectOptions } from './gap-relm/correct';

// Gap-ReLM: threshold tuning
export {
  tuneThresholds,
  DEFAULT_TUNE_GRID,
  type DevPair,
  type TuneGrid,
  type TuneMetric,
  type TuneOptions,
  type TuneRow,
  type TuneResult,
} from './gap-relm/tune';

// Autoregressive sampling (causal LMs): logits processors, samplers, generate / streamGenerate
export * from './autoregressive';

// MaskGIT decoding with classifier-free guidance (discrete diffusion, SGDD)
export * from './maskgit';
