import type { Rng } from '@proj/core';

/**
 * k ~ Poisson(lambda) conditioned on lo <= k <= hi, sampled exactly by inverse CDF over the
 * truncated support. No rejection loop, so it stays fast when lambda is far outside [lo, hi]
 * (e.g. lambda = 0.1 with lo = 1, where rejection would discard ~90% of draws).
 */
export class TruncatedPoisson {
  /** Cumulative probabilities of lo, lo+1, ..., hi; the last entry is exactly 1. */
  private readonly cdf: Float64Array;
  private readonly probs: Float64Array;

  constructor(
    readonly lambda: number,
    readonly lo: number,
    readonly hi: number,
  ) {
    if (!(Number.isFinite(lambda) && lambda >= 0)) throw new RangeError(`TruncatedPoisson: lambda must be a finite number >= 0, got ${lambda}`);
    if (!Number.isInteger(lo) || lo < 0) throw new RangeError(`TruncatedPoisson: lo must be an integer >= 0, got ${lo}`);
    if (!Number.isInteger(hi) || hi < lo) throw new RangeError(`TruncatedPoisson: hi must be an integer >= lo (${lo}), got ${hi}`);
    const size = hi - lo + 1;
    // Log-weights k·log(lambda) − log(k!) (the e^−lambda factor cancels), normalised from the
    // maximum so a lambda far above hi does not underflow every weight to 0.
    const logW = new Float64Array(size);
    if (lambda === 0) {
      // The limit as lambda → 0: all mass on the smallest allowed k.
      logW.fill(-Infinity);
      logW[0] = 0;
    } else {
      const logLambda = Math.log(lambda);
      let logFactLo = 0;
      for (let j = 2; j <= lo; j++) logFactLo += Math.log(j);
      logW[0] = lo * logLambda - logFactLo;
      for (let i = 1; i < size; i++) logW[i] = logW[i - 1] + logLambda - Math.log(lo + i);
    }
    let max = -Infinity;
    for (const w of logW) max = Math.max(max, w);
    this.probs = new Float64Array(size);
    let total = 0;
    for (let i = 0; i < size; i++) total += this.probs[i] = Math.exp(logW[i] - max);
    this.cdf = new Float64Array(size);
    let acc = 0;
    for (let i = 0; i < size; i++) {
      this.probs[i] /= total;
      acc += this.probs[i];
      this.cdf[i] = acc;
    }
    this.cdf[size - 1] = 1; // rounding must not leave a gap above the last value
  }

  /** P(K = k) under the truncated distribution (0 outside [lo, hi]). */
  pmf(k: number): number {
    return Number.isInteger(k) && k >= this.lo && k <= this.hi ? this.probs[k - this.lo] : 0;
  }

  mean(): number {
    let m = 0;
    for (let i = 0; i < this.probs.length; i++) m += (this.lo + i) * this.probs[i];
    return m;
  }

  sample(rng: Rng): number {
    const u = rng.float();
    // The support is small (a few edits), so a linear scan beats a binary search.
    for (let i = 0; i < this.cdf.length; i++) if (u < this.cdf[i]) return this.lo + i;
    return this.hi;
  }
}
