/**
 * The cosine noise schedule of an absorbing-state ([MASK]) discrete diffusion over T steps:
 * alpha_bar(t) = f(t) / f(0), f(t) = cos(((t / T + s) / (1 + s)) · π/2)² (Nichol & Dhariwal 2021,
 * s = 0.008), the probability that a token is still itself at step t. alpha_bar(0) = 1,
 * alpha_bar(T) = 0, strictly decreasing in between. Pure functions over plain numbers.
 */

const OFFSET = 0.008;

function checkSteps(numTimesteps: number, fn: string): void {
  if (!Number.isInteger(numTimesteps) || numTimesteps < 1) throw new RangeError(`${fn}: numTimesteps must be an integer >= 1, got ${numTimesteps}`);
}

/** alpha_bar(t) for an integer t in [0, T]. */
export function cosineAlphaBar(t: number, numTimesteps: number): number {
  checkSteps(numTimesteps, 'cosineAlphaBar');
  if (!Number.isInteger(t) || t < 0 || t > numTimesteps) throw new RangeError(`cosineAlphaBar: t must be an integer in [0, ${numTimesteps}], got ${t}`);
  if (t === numTimesteps) return 0; // cos(π/2) is 6e-17 in floats; the last step masks everything
  const f = (u: number) => Math.cos(((u / numTimesteps + OFFSET) / (1 + OFFSET)) * (Math.PI / 2)) ** 2;
  return f(t) / f(0);
}

/** alpha_bar(0..T) as a table (T + 1 entries). */
export function alphaBarTable(numTimesteps: number): Float64Array {
  checkSteps(numTimesteps, 'alphaBarTable');
  return Float64Array.from({ length: numTimesteps + 1 }, (_, t) => cosineAlphaBar(t, numTimesteps));
}

/** Probability that the forward process has replaced a token by [MASK] at step t: 1 − alpha_bar(t). */
export function maskProbability(t: number, numTimesteps: number): number {
  return 1 - cosineAlphaBar(t, numTimesteps);
}

/**
 * The training timestep t in [1, T] whose mask probability is closest to `fraction` (ties to the
 * smaller t): how a MaskGIT step, which knows only the fraction of a row still masked, tells the
 * decoder the noise level it was trained on. Binary search over the increasing 1 − alpha_bar.
 */
export function timestepForMaskedFraction(fraction: number, numTimesteps: number): number {
  checkSteps(numTimesteps, 'timestepForMaskedFraction');
  if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`timestepForMaskedFraction: fraction must be in [0, 1], got ${fraction}`);
  let [lo, hi] = [1, numTimesteps];
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (maskProbability(mid, numTimesteps) < fraction) lo = mid + 1;
    else hi = mid;
  }
  // lo is the first t with p(t) >= fraction; t - 1 may be closer.
  if (lo > 1 && fraction - maskProbability(lo - 1, numTimesteps) <= maskProbability(lo, numTimesteps) - fraction) return lo - 1;
  return lo;
}
