// Autoregressive sampling (MateConv causal LMs): public API, re-exported by src/index.ts.

// What a model must implement
export { type CausalBatch, type CausalLogits, type CausalLogitsSource } from './logits-source';

// Configuration
export {
  DEFAULT_GENERATION_CONFIG,
  SAMPLING_CONTROL_KEYS,
  resolveGenerationConfig,
  eosTokenIds,
  type GenerationConfig,
  type SamplingControls,
} from './generation-config';

// Logits processors (in place on one row)
export {
  applyRepetitionPenalty,
  banRepeatedNgrams,
  applyTemperature,
  applyTopK,
  applyTopP,
  applyMinP,
  processLogits,
} from './logits-processors';

// Samplers
export { greedyToken, sampleToken, type RandomSource } from './sampler';
export { pickToken } from './pick-token';

// The loop
export { generate, streamGenerate, type GenerateOptions, type TokenEvent } from './generate';

// Text: decoding as tokens arrive, stop strings, streamed pieces
export { generateText, type TextGeneration, type TextGenerationOptions } from './generate-text';
export {
  RowTextStream,
  findStopString,
  stopPrefixLength,
  type RowTextStreamOptions,
  type TextFinishReason,
  type TokenDecoder,
} from './text-stream';

// Rows with sampling settings of their own in one batch (a server's requests)
export { streamGeneratePerRow, type RowSampler, type PerRowGenerationConfig } from './generate-per-row';
