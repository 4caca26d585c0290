/**
 * Mask schedules γ(r): the fraction of tokens still masked at progress r ∈ [0, 1]. Both start
 * at γ(0) = 1 (all masked) and end at γ(1) = 0, and are non-increasing in between.
 */
export type MaskSchedule = (r: number) => number;

export type MaskScheduleName = 'cosine' | 'linear';

function checkProgress(fn: string, r: number): void {
  if (typeof r !== 'number' || !(r >= 0 && r <= 1)) throw new RangeError(`${fn}: r must be in [0, 1], got ${String(r)}`);
}

/** MaskGIT's schedule: cos(π/2 · r). Concave, so few tokens are revealed early, when context is scarce. */
export function cosineMaskSchedule(r: number): number {
  checkProgress('cosineMaskSchedule', r);
  // cos(π/2) is 6e-17, not 0; the end point must be exact.
  return r === 1 ? 0 : Math.cos((Math.PI / 2) * r);
}

/** 1 − r: the same number of tokens revealed at every step. */
export function linearMaskSchedule(r: number): number {
  checkProgress('linearMaskSchedule', r);
  return 1 - r;
}

export const MASK_SCHEDULES: Readonly<Record<MaskScheduleName, MaskSchedule>> = Object.freeze({
  cosine: cosineMaskSchedule,
  linear: linearMaskSchedule,
});

function checkInteger(fn: string, name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${fn}: ${name} must be an integer >= ${min}, got ${String(value)}`);
}

/** Slack for float error before flooring, so that 10 × (1 − 0.3) = 6.9999999999 counts as 7. */
const FLOOR_SLACK = 1e-9;

/**
 * How many of `length` tokens are still masked after step `step` of `steps` (step 0 = before
 * the first step). Rounding, as in MaskGIT: `floor(length · γ(step / steps))`, then at least 1
 * until the last step and exactly 0 after it (and `length` before the first). With a
 * non-increasing γ the counts are non-increasing; when `length < steps` some steps reveal nothing.
 */
export function maskedCountAfterStep(schedule: MaskScheduleName | MaskSchedule, step: number, steps: number, length: number): number {
  const fn = 'maskedCountAfterStep';
  checkInteger(fn, 'steps', steps, 1);
  checkInteger(fn, 'length', length, 0);
  if (!Number.isInteger(step) || step < 0 || step > steps) throw new RangeError(`${fn}: step must be an integer in [0, ${steps}], got ${String(step)}`);
  const gamma = resolveMaskSchedule(schedule, fn);
  if (step === 0) return length;
  if (step === steps || length === 0) return 0;
  const fraction = gamma(step / steps);
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) {
    throw new RangeError(`${fn}: schedule(${step / steps}) must be in [0, 1], got ${String(fraction)}`);
  }
  return Math.min(length, Math.max(1, Math.floor(length * fraction + FLOOR_SLACK)));
}

/** `maskedCountAfterStep` for step = 0..steps: `steps + 1` counts from `length` down to 0. */
export function maskedCounts(schedule: MaskScheduleName | MaskSchedule, steps: number, length: number): number[] {
  return Array.from({ length: steps + 1 }, (_, step) => maskedCountAfterStep(schedule, step, steps, length));
}

/** The schedule function for a name (or the function itself). */
export function resolveMaskSchedule(schedule: MaskScheduleName | MaskSchedule, fn = 'resolveMaskSchedule'): MaskSchedule {
  if (typeof schedule === 'function') return schedule;
  if (!Object.hasOwn(MASK_SCHEDULES, schedule)) {
    throw new RangeError(`${fn}: schedule must be one of ${Object.keys(MASK_SCHEDULES).join(', ')} or a function, got ${String(schedule)}`);
  }
  return MASK_SCHEDULES[schedule];
}
