import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { TruncatedPoisson } from './truncated-poisson';

function exactPmf(lambda: number, lo: number, hi: number): number[] {
  const w: number[] = [];
  let fact = 1;
  for (let k = 0; k <= hi; k++) {
    if (k > 0) fact *= k;
    if (k >= lo) w.push((Math.exp(-lambda) * lambda ** k) / fact);
  }
  const z = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / z);
}

describe('TruncatedPoisson', () => {
  const cases = [
    { lambda: 1, lo: 1, hi: 5 },
    { lambda: 0.1, lo: 1, hi: 4 }, // lambda far below lo: rejection sampling would waste ~90%
    { lambda: 3.5, lo: 0, hi: 12 },
    { lambda: 2, lo: 2, hi: 2 },
    { lambda: 8, lo: 1, hi: 6 },
  ];

  it.each(cases)('pmf matches the exact truncated Poisson for %o', ({ lambda, lo, hi }) => {
    const dist = new TruncatedPoisson(lambda, lo, hi);
    const exact = exactPmf(lambda, lo, hi);
    exact.forEach((p, i) => expect(dist.pmf(lo + i)).toBeCloseTo(p, 12));
    expect(dist.pmf(lo - 1)).toBe(0);
    expect(dist.pmf(hi + 1)).toBe(0);
  });

  it.each(cases)('samples follow the pmf (chi-square) for %o', ({ lambda, lo, hi }) => {
    const dist = new TruncatedPoisson(lambda, lo, hi);
    const rng = new Rng(lambda * 1000 + hi);
    const n = 40_000;
    const counts = new Array(hi - lo + 1).fill(0);
    for (let i = 0; i < n; i++) {
      const k = dist.sample(rng);
      expect(k).toBeGreaterThanOrEqual(lo);
      expect(k).toBeLessThanOrEqual(hi);
      counts[k - lo]++;
    }
    // Pearson chi-square over cells with expected count >= 5; 99.9% quantile for <= 12 dof is < 33.
    let chi2 = 0;
    counts.forEach((c, i) => {
      const expected = n * dist.pmf(lo + i);
      if (expected >= 5) chi2 += (c - expected) ** 2 / expected;
      else expect(c).toBeLessThan(30);
    });
    expect(chi2).toBeLessThan(33);
  });

  it('stays finite for lambda far above hi (all mass at hi) and lambda = 0 (all mass at lo)', () => {
    // exp(-1e5) underflows, so a direct pmf would be 0/0; P(4)/P(5) = 5/lambda.
    const high = new TruncatedPoisson(1e5, 1, 5);
    expect(high.pmf(4) / high.pmf(5)).toBeCloseTo(5e-5, 12);
    expect(high.pmf(5)).toBeGreaterThan(0.9999);
    expect(high.sample(new Rng(1))).toBe(5);
    const zero = new TruncatedPoisson(0, 1, 5);
    expect(zero.pmf(1)).toBe(1);
    expect(zero.mean()).toBe(1);
  });

  it('names the bad argument', () => {
    expect(() => new TruncatedPoisson(-1, 0, 3)).toThrow('TruncatedPoisson: lambda must be a finite number >= 0, got -1');
    expect(() => new TruncatedPoisson(1, 2, 1)).toThrow('TruncatedPoisson: hi must be an integer >= lo (2), got 1');
    expect(() => new TruncatedPoisson(1, 0.5, 1)).toThrow('TruncatedPoisson: lo must be an integer >= 0, got 0.5');
  });
});
