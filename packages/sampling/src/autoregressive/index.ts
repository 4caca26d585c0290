// Autoregressive sampling (MateConv causal LMs): public API, re-exported by src/index.ts.

// What a model must implement
export { type CausalBatch, type CausalLogits, type CausalLogitsSource } from './logits-source';

// Configuration
export { DEFAULT_GENERATION_CONFIG, resolveGenerationConfig, eosTokenIds, type GenerationConfig } from './generation-config';

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

// The loop
export { generate, streamGenerate, type GenerateOptions, type TokenEvent } from './generate';
