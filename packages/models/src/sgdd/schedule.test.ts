import { describe, expect, it } from 'vitest';
import { alphaBarTable, cosineAlphaBar, maskProbability, timestepForMaskedFraction } from './schedule';
import { sinusoidalTimestepTable } from './timestep-embedding';

describe('cosine schedule', () => {
  const T = 1000;
  const table = alphaBarTable(T);

  it('alpha_bar(0) = 1, alpha_bar(T) = 0, strictly decreasing, in [0, 1]', () => {
    expect(table).toHaveLength(T + 1);
    expect(table[0]).toBe(1);
    expect(table[T]).toBe(0);
    for (let t = 1; t <= T; t++) {
      expect(table[t]).toBeLessThan(table[t - 1]);
      expect(table[t]).toBeGreaterThanOrEqual(0);
    }
  });

  it('matches the closed form at a few points (Nichol & Dhariwal, s = 0.008)', () => {
    const f = (u: number) => Math.cos(((u + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
    for (const t of [1, 250, 500, 750, 999]) expect(cosineAlphaBar(t, T)).toBeCloseTo(f(t / T) / f(0), 12);
    // Half the tokens are masked a little before the middle step (the schedule is slow at both ends).
    expect(maskProbability(500, T)).toBeGreaterThan(0.49);
    expect(maskProbability(500, T)).toBeLessThan(0.51);
    expect(maskProbability(1, T)).toBeLessThan(1e-4);
  });

  it('timestepForMaskedFraction inverts 1 − alpha_bar: nearest step, 1 at fraction 0, T at fraction 1', () => {
    expect(timestepForMaskedFraction(0, T)).toBe(1);
    expect(timestepForMaskedFraction(1, T)).toBe(T);
    for (let t = 1; t <= T; t += 37) expect(timestepForMaskedFraction(maskProbability(t, T), T)).toBe(t);
    for (const fraction of [0.1, 0.33, 0.5, 0.77, 0.9]) {
      const t = timestepForMaskedFraction(fraction, T);
      const err = Math.abs(maskProbability(t, T) - fraction);
      for (const other of [t - 1, t + 1].filter((s) => s >= 1 && s <= T)) expect(err).toBeLessThanOrEqual(Math.abs(maskProbability(other, T) - fraction));
    }
  });

  it('rejects bad arguments, naming the function and value', () => {
    expect(() => cosineAlphaBar(1001, T)).toThrow(/cosineAlphaBar: t must be an integer in \[0, 1000\], got 1001/);
    expect(() => alphaBarTable(0)).toThrow(/alphaBarTable: numTimesteps must be an integer >= 1, got 0/);
    expect(() => timestepForMaskedFraction(1.5, T)).toThrow(/fraction must be in \[0, 1\], got 1.5/);
  });
});

describe('sinusoidalTimestepTable', () => {
  it('row t is sin(t·f_i) then cos(t·f_i), f_i = 10000^(−i/h)', () => {
    const table = sinusoidalTimestepTable(10, 8);
    expect(table).toHaveLength(11 * 8);
    expect([...table.slice(0, 8)]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(table[3 * 8 + 0]).toBeCloseTo(Math.sin(3), 6);
    expect(table[3 * 8 + 1]).toBeCloseTo(Math.sin(3 * 0.1), 6);
    expect(table[3 * 8 + 4 + 2]).toBeCloseTo(Math.cos(3 * 0.01), 6);
    expect(() => sinusoidalTimestepTable(10, 7)).toThrow(/dim must be an even integer >= 2, got 7/);
  });
});
