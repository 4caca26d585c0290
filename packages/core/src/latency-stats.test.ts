import { describe, expect, it } from 'vitest';
import { LatencyStats } from './latency-stats';

describe('LatencyStats', () => {
  // Nearest rank: the ceil(p/100 * n)-th smallest sample.
  it.each([
    { samples: [7], p50: 7, p90: 7, p99: 7, max: 7 },
    // n = 4: ranks 2, 4, 4.
    { samples: [40, 10, 30, 20], p50: 20, p90: 40, p99: 40, max: 40 },
    // n = 10 (1..10 shuffled): ranks 5, 9, 10.
    { samples: [3, 9, 1, 10, 7, 2, 8, 5, 6, 4], p50: 5, p90: 9, p99: 10, max: 10 },
    // n = 5 with ties: ranks 3, 5, 5.
    { samples: [2, 2, 1, 2, 9.5], p50: 2, p90: 9.5, p99: 9.5, max: 9.5 },
  ])('percentiles of $samples', ({ samples, p50, p90, p99, max }) => {
    const stats = new LatencyStats(100);
    for (const s of samples) stats.record(s);
    expect(stats.summary()).toEqual({ count: samples.length, window: samples.length, p50, p90, p99, max });
  });

  it('n = 200 (1..200): p50 = 100, p90 = 180, p99 = 198, p7 = 14', () => {
    const stats = new LatencyStats(1000);
    for (let i = 200; i >= 1; i--) stats.record(i);
    expect([stats.percentile(50), stats.percentile(90), stats.percentile(99), stats.percentile(100)]).toEqual([100, 180, 198, 200]);
    // 7 / 100 * 100 is 7.000000000000001 in floating point; the rank must still be 7.
    expect(stats.percentile(7)).toBe(14);
  });

  it('keeps only the last `capacity` samples, but counts them all', () => {
    const stats = new LatencyStats(3);
    for (const s of [100, 200, 1, 2, 3]) stats.record(s);
    expect(stats.summary()).toEqual({ count: 5, window: 3, p50: 2, p90: 3, p99: 3, max: 3 });
  });

  it('an empty window has no percentiles; bad inputs are refused', () => {
    const stats = new LatencyStats(4);
    expect(stats.summary()).toEqual({ count: 0, window: 0, p50: null, p90: null, p99: null, max: null });
    expect(() => stats.record(-1)).toThrow('LatencyStats.record: value must be a finite number >= 0, got -1');
    expect(() => stats.record(NaN)).toThrow('got NaN');
    expect(() => stats.percentile(0)).toThrow('LatencyStats.percentile: p must be in (0, 100], got 0');
    expect(() => new LatencyStats(0)).toThrow('LatencyStats: capacity must be an integer >= 1, got 0');
  });
});
