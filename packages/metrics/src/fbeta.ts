/** Precision, recall and the three F-scores we report everywhere. All values are in [0, 1]. */
export interface PRF {
  precision: number;
  recall: number;
  f1: number;
  /** F0.5: precision weighted twice as much as recall (the CGEC convention). */
  f05: number;
  /** F2: recall weighted twice as much as precision. */
  f2: number;
}

/** {@link PRF} plus the counts it was computed from. */
export interface PRFCounts extends PRF {
  tp: number;
  fp: number;
  fn: number;
}

function checkUnit(fn: string, name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new RangeError(`${fn}: ${name} must be a finite number in [0, 1], got ${value}`);
  }
}

/**
 * F-beta = (1 + b²)·P·R / (b²·P + R); 0 when P and R are both 0.
 * The operation order matches ChERRANT's `computeFScore`, so CGEC scores agree to the last bit.
 */
export function fbeta(precision: number, recall: number, beta: number): number {
  checkUnit('fbeta', 'precision', precision);
  checkUnit('fbeta', 'recall', recall);
  if (!Number.isFinite(beta) || beta <= 0) {
    throw new RangeError(`fbeta: beta must be a finite number > 0, got ${beta}`);
  }
  if (precision + recall === 0) return 0;
  const b2 = beta * beta;
  return ((1 + b2) * precision * recall) / (b2 * precision + recall);
}

export const f1 = (precision: number, recall: number): number => fbeta(precision, recall, 1);
export const f05 = (precision: number, recall: number): number => fbeta(precision, recall, 0.5);
export const f2 = (precision: number, recall: number): number => fbeta(precision, recall, 2);

/** All three F-scores for one precision/recall pair. */
export function prf(precision: number, recall: number): PRF {
  return { precision, recall, f1: f1(precision, recall), f05: f05(precision, recall), f2: f2(precision, recall) };
}

function checkCount(fn: string, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`${fn}: ${name} must be a non-negative integer, got ${value}`);
  }
}

/**
 * P = tp / (tp + fp), R = tp / (tp + fn), with 0/0 defined as 0: a system that proposes
 * nothing gets precision 0, not 1 (ChERRANT uses the other convention; see `scoreM2`).
 */
export function prfFromCounts(tp: number, fp: number, fn: number): PRFCounts {
  checkCount('prfFromCounts', 'tp', tp);
  checkCount('prfFromCounts', 'fp', fp);
  checkCount('prfFromCounts', 'fn', fn);
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  return { tp, fp, fn, ...prf(precision, recall) };
}
