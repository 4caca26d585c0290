import { checkCount, checkUnit, mergeConfig } from '../config-checks';
import { checkPlanThresholds } from './plan';

/** BERT special tokens an infiller vocabulary usually contains; a fill is never one of these. */
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = Object.freeze(['[UNK]', '[PAD]', '[CLS]', '[SEP]', '[MASK]']);

/**
 * Gap-ReLM decoding settings. The three thresholds are what `tuneThresholds` sweeps: lowering one
 * makes that kind of edit more frequent (recall up, precision down), which is how an F2-oriented
 * operating point is reached.
 */
export interface GapRelmDecodeConfig {
  /** DELETE a token only if p(DELETE) >= this. */
  deleteThreshold: number;
  /** REPLACE a token only if p(REPLACE) >= this (a threshold, not argmax, so it can be tuned like the others). */
  replaceThreshold: number;
  /** Insert after a slot only if p(count >= 1) >= this; the count is then the argmax over 1..K. */
  insertThreshold: number;
  /** Most `[MASK]`s inserted in one sentence; the most probable insertions are kept. `Infinity` = no cap (in JSON, omit the field). */
  maxInsertsPerSentence: number;
  /** Ablation: never insert. */
  noInsert: boolean;
  /** Ablation: never delete. */
  noDelete: boolean;
  /** Extra fill rounds that re-mask the least confident fills and predict them again (MaskGIT-style). */
  refinementRounds: number;
  /** Fraction of a sentence's fills re-masked per refinement round (rounded up, at least one, never all). */
  refinementFraction: number;
  /** Vocabulary entries never emitted as fills (`[MASK]` is never emitted whatever this says). */
  specialTokens: readonly string[];
  /** Sentences per planner / infiller call. */
  batchSize: number;
}

export const DEFAULT_GAP_RELM_DECODE_CONFIG: Readonly<GapRelmDecodeConfig> = Object.freeze({
  deleteThreshold: 0.5, // an edit needs the majority of the slot's probability mass
  replaceThreshold: 0.5,
  insertThreshold: 0.5,
  maxInsertsPerSentence: Infinity, // no cap; the planner's K already bounds each slot
  noInsert: false,
  noDelete: false,
  refinementRounds: 0, // one-shot fill, as the infiller is trained
  refinementFraction: 0.5,
  specialTokens: DEFAULT_SPECIAL_TOKENS,
  batchSize: 32,
});

/**
 * Fills in defaults and validates. `fn` names the caller in errors
 * (`correct: deleteThreshold must be in [0, 1], got 1.5`). Unknown keys are errors, so a typo
 * (`deleteTreshold`) cannot silently fall back to the default.
 */
export function resolveGapRelmDecodeConfig(config: Partial<GapRelmDecodeConfig> = {}, fn = 'resolveGapRelmDecodeConfig'): GapRelmDecodeConfig {
  const c = mergeConfig(DEFAULT_GAP_RELM_DECODE_CONFIG, config, fn);
  checkPlanThresholds(fn, c);
  checkCount(fn, 'refinementRounds', c.refinementRounds, 0, false);
  checkUnit(fn, 'refinementFraction', c.refinementFraction);
  if (!Array.isArray(c.specialTokens) || c.specialTokens.some((t) => typeof t !== 'string')) {
    throw new TypeError(`${fn}: specialTokens must be an array of strings, got ${JSON.stringify(c.specialTokens)}`);
  }
  checkCount(fn, 'batchSize', c.batchSize, 1, false);
  return c;
}
