/** Percentiles of the samples in the window (null when it is empty). */
export interface LatencySummary {
  /** Samples recorded since the start, including those the window has dropped. */
  count: number;
  /** Samples the percentiles are computed over (the last `capacity` ones). */
  window: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

/**
 * Latencies (or any non-negative samples) over a ring buffer of the last `capacity` samples, so a
 * long-running server keeps recent percentiles in constant memory. Percentiles are nearest-rank:
 * the smallest sample with at least p% of the window at or below it.
 */
export class LatencyStats {
  private readonly samples: Float64Array;
  private total = 0;

  constructor(readonly capacity = 4096) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`LatencyStats: capacity must be an integer >= 1, got ${capacity}`);
    this.samples = new Float64Array(capacity);
  }

  record(value: number): void {
    if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`LatencyStats.record: value must be a finite number >= 0, got ${value}`);
    this.samples[this.total % this.capacity] = value;
    this.total++;
  }

  get count(): number {
    return this.total;
  }

  /** Nearest-rank percentile `p` (0 < p <= 100) of the window; null if nothing was recorded. */
  percentile(p: number): number | null {
    return nearestRank(this.sorted(), p);
  }

  summary(): LatencySummary {
    const sorted = this.sorted();
    return {
      count: this.total,
      window: sorted.length,
      p50: nearestRank(sorted, 50),
      p90: nearestRank(sorted, 90),
      p99: nearestRank(sorted, 99),
      max: sorted.length === 0 ? null : sorted[sorted.length - 1],
    };
  }

  private sorted(): Float64Array {
    return this.samples.slice(0, Math.min(this.total, this.capacity)).sort();
  }
}

function nearestRank(sorted: Float64Array, p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new RangeError(`LatencyStats.percentile: p must be in (0, 100], got ${p}`);
  if (sorted.length === 0) return null;
  // (p * n) / 100, not p / 100 * n: 0.07 * 100 is 7.000000000000001, whose ceiling is 8.
  return sorted[Math.ceil((p * sorted.length) / 100) - 1];
}
