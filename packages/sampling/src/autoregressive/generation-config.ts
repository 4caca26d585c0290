import { checkBoolean, checkCount, checkPositive, checkUnit, mergeConfig } from '../config-checks';

/**
 * Autoregressive decoding settings (transformers' `GenerationConfig`, camelCased). With
 * `doSample: false` the loop is greedy and the sampling-only fields (`temperature`, `topK`, `topP`,
 * `minP`) are ignored, as in transformers; `repetitionPenalty` and `noRepeatNgramSize` apply in
 * both modes.
 */
export interface GenerationConfig {
  /** Most tokens generated per row (the prompt is not counted). */
  maxNewTokens: number;
  /** `false` = greedy argmax; `true` = multinomial sampling with the `rng` passed to `generate`. */
  doSample: boolean;
  /** Logits are divided by this before sampling; must be > 0 (use greedy for "0"). */
  temperature: number;
  /** Keep only the k most probable tokens (ties: lower id first); 0 = off. */
  topK: number;
  /** Keep the smallest set of most probable tokens whose mass is >= topP (at least one); 1 = off. */
  topP: number;
  /** Drop tokens whose probability is below minP × the top probability; 0 = off. */
  minP: number;
  /** CTRL-style penalty on every token of prompt + generated: positive logits / p, negative × p; 1 = off. */
  repetitionPenalty: number;
  /** Never complete an n-gram of this size that already occurs in prompt + generated; 0 = off. */
  noRepeatNgramSize: number;
  /** A row stops after emitting one of these (the EOS token is kept in its output); null = no EOS. */
  eosTokenId: number | number[] | null;
  /** Token fed to the model for rows that already stopped; null = the first EOS id. */
  padTokenId: number | null;
}

/**
 * The fields that decide one row's next token from its logits and its tokens so far: what
 * `processLogits` and `pickToken` read, and what each row of `streamGeneratePerRow` sets for itself.
 */
export type SamplingControls = Pick<GenerationConfig, (typeof SAMPLING_CONTROL_KEYS)[number]>;
export const SAMPLING_CONTROL_KEYS = ['doSample', 'temperature', 'topK', 'topP', 'minP', 'repetitionPenalty', 'noRepeatNgramSize'] as const;

export const DEFAULT_GENERATION_CONFIG: Readonly<GenerationConfig> = Object.freeze({
  maxNewTokens: 20, // transformers' default generation length
  doSample: false, // greedy: reproducible without an rng
  temperature: 1, // the model's own distribution
  topK: 0, // off
  topP: 1, // off
  minP: 0, // off
  repetitionPenalty: 1, // off
  noRepeatNgramSize: 0, // off
  eosTokenId: null, // stop only at maxNewTokens
  padTokenId: null, // fall back to the first EOS id
});

function checkTokenId(fn: string, name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`${fn}: ${name} must be a token id (an integer >= 0), got ${JSON.stringify(value)}`);
  }
}

/**
 * Fills in defaults and validates. `fn` names the caller in errors
 * (`generate: topP must be in [0, 1], got 1.5`). Unknown keys are errors, so a typo (`topp`)
 * cannot silently fall back to the default.
 */
export function resolveGenerationConfig(config: Partial<GenerationConfig> = {}, fn = 'resolveGenerationConfig'): GenerationConfig {
  const c = mergeConfig(DEFAULT_GENERATION_CONFIG, config, fn);
  checkCount(fn, 'maxNewTokens', c.maxNewTokens, 0, false);
  checkBoolean(fn, 'doSample', c.doSample);
  checkPositive(fn, 'temperature', c.temperature);
  checkCount(fn, 'topK', c.topK, 0, false);
  checkUnit(fn, 'topP', c.topP);
  if (c.topP === 0) throw new RangeError(`${fn}: topP must be > 0 (1 = off), got 0`);
  checkUnit(fn, 'minP', c.minP);
  checkPositive(fn, 'repetitionPenalty', c.repetitionPenalty);
  checkCount(fn, 'noRepeatNgramSize', c.noRepeatNgramSize, 0, false);
  if (c.eosTokenId !== null) {
    if (Array.isArray(c.eosTokenId)) c.eosTokenId.forEach((id, i) => checkTokenId(fn, `eosTokenId[${i}]`, id));
    else checkTokenId(fn, 'eosTokenId', c.eosTokenId);
  }
  if (c.padTokenId !== null) checkTokenId(fn, 'padTokenId', c.padTokenId);
  return c;
}

/** The EOS ids of a resolved config as a list (empty when there is none). */
export function eosTokenIds(config: Pick<GenerationConfig, 'eosTokenId'>): number[] {
  const { eosTokenId } = config;
  return eosTokenId === null ? [] : Array.isArray(eosTokenId) ? [...eosTokenId] : [eosTokenId];
}
