// Configuration
export {
  SynthConfigSchema,
  defaultSynthConfig,
  parseSynthConfig,
  type SynthConfig,
  type SynthConfigInput,
} from './synth-config';

// Confusion sets
export {
  ConfusionSet,
  inferConfusionFormat,
  type ConfusionFile,
  type ConfusionFormat,
  type ConfusionLoadOptions,
} from './confusion-set';

// Error-count distributions
export { TruncatedPoisson } from './truncated-poisson';
export { LengthAdaptiveLambda, type LambdaMode, type LengthAdaptiveLambdaOptions } from './length-adaptive-lambda';

// Error generation
export {
  ErrorGenerator,
  editCost,
  type Corruption,
  type SynthEdit,
  type SynthEditType,
  type UncorruptibleReason,
} from './error-generator';

// Datasets: static, online, frozen dev
export { StaticDataGenerator } from './static-data-generator';
export { OnlineAugmenter } from './online-augmenter';
export { generateFrozenDev, FROZEN_DEV_STREAM, type GenerateFrozenDevOptions } from './generate-frozen-dev';
export { precomputedLine } from './precomputed-line';
export { mixExamples } from './mix-examples';

// Files: clean input, parallel synthesis, lazy JSONL access
export {
  readCleanSentences,
  CleanSentences,
  type CleanFormat,
  type CleanSentence,
  type ReadCleanOptions,
} from './clean-corpus';
export { synthesizeFile, type SynthesizeFileOptions } from './synthesize';
export type { SynthMode } from './synthesize-chunk';
export { SynthStats, type SynthSummary, type SynthStatsJSON } from './synth-stats';
export { LazyJsonlDataset, type IndexStatus, type LazyJsonlOptions } from './lazy-jsonl-dataset';
