import { checkCount, checkNonNegative, mergeConfig } from '../config-checks';
import { MASK_SCHEDULES, type MaskScheduleName } from './schedule';

/** MaskGIT decoding settings (Chang et al. 2022), with classifier-free guidance. */
export interface MaskGitConfig {
  /** Decoding steps T; each step is one model pass (two when guided). */
  steps: number;
  /** Fraction still masked as a function of progress r = step / steps. */
  schedule: MaskScheduleName;
  /**
   * Guidance scale w in `uncond + w · (cond − uncond)`: 0 = unconditional pass only, 1 =
   * conditional pass only, > 1 = guided (both passes, the condition's effect amplified).
   */
  guidanceScale: number;
  /** Temperature for sampling each masked position's candidate token; 0 = argmax. */
  temperature: number;
  /**
   * "Choice temperature": scale of the Gumbel noise added to the log-confidences that decide
   * which candidates are kept, annealed by (1 − r) so late steps are greedy; 0 = no noise.
   */
  choiceTemperature: number;
}

export const DEFAULT_MASKGIT_CONFIG: Readonly<MaskGitConfig> = Object.freeze({
  steps: 8, // MaskGIT's ImageNet setting; SGDD sentences are short
  schedule: 'cosine' as MaskScheduleName, // MaskGIT found cosine best among its schedules
  guidanceScale: 1, // plain conditional decoding, one pass per step; raise it to guide
  temperature: 1, // sample candidates from the model's distribution, as MaskGIT does
  choiceTemperature: 4.5, // MaskGIT's default confidence noise
});

/**
 * Fills in defaults and validates; errors name `fn` and the field
 * (`maskGitDecode: guidanceScale must be a finite number >= 0, got -1`). Unknown keys are errors,
 * so a typo cannot silently fall back to a default.
 */
export function resolveMaskGitConfig(config: Partial<MaskGitConfig> = {}, fn = 'resolveMaskGitConfig'): MaskGitConfig {
  const c = mergeConfig(DEFAULT_MASKGIT_CONFIG, config, fn);
  checkCount(fn, 'steps', c.steps, 1, false);
  if (!Object.hasOwn(MASK_SCHEDULES, c.schedule)) {
    throw new RangeError(`${fn}: schedule must be one of ${Object.keys(MASK_SCHEDULES).join(', ')}, got ${String(c.schedule)}`);
  }
  checkNonNegative(fn, 'guidanceScale', c.guidanceScale);
  checkNonNegative(fn, 'temperature', c.temperature);
  checkNonNegative(fn, 'choiceTemperature', c.choiceTemperature);
  return c;
}
