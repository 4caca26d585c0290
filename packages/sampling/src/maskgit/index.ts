// MaskGIT with classifier-free guidance (SGDD decoding). Re-exported by the package's src/index.ts.

// What a model must implement
export { type DenoiserBatch, type DenoiserCandidates, type DenoiserLogitsSource, type DenoiserStep } from './logits-source';

// Mask schedules
export {
  cosineMaskSchedule,
  linearMaskSchedule,
  MASK_SCHEDULES,
  maskedCountAfterStep,
  maskedCounts,
  resolveMaskSchedule,
  type MaskSchedule,
  type MaskScheduleName,
} from './schedule';

// Configuration
export { DEFAULT_MASKGIT_CONFIG, resolveMaskGitConfig, type MaskGitConfig } from './config';

// Classifier-free guidance
export { guidedLogits, guidancePasses, guidancePassList, denoisePasses, denoiseWithGuidance } from './cfg';

// Decoding
export {
  maskGitDecode,
  type MaskGitDecodeOptions,
  type MaskGitResult,
  type MaskGitStep,
} from './maskgit';
// `RandomSource` ({ float(): number }) is the one the autoregressive barrel exports.
