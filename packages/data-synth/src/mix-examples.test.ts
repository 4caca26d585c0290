import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { mixExamples } from './mix-examples';

const synthetic = Array.from({ length: 90 }, (_, i) => `s${i}`);
const real = Array.from({ length: 7 }, (_, i) => `r${i}`);

describe('mixExamples', () => {
  it.each([
    { share: 0.5, realCount: 90 },
    { share: 0.25, realCount: 30 },
    { share: 0.1, realCount: 10 },
  ])('share $share: every synthetic example once and $realCount real ones', ({ share, realCount }) => {
    const mixed = mixExamples(synthetic, real, share, new Rng(1));
    expect(mixed.filter((x) => x.startsWith('s')).sort()).toEqual([...synthetic].sort());
    const taken = mixed.filter((x) => x.startsWith('r'));
    expect(taken).toHaveLength(realCount);
    expect(taken.length / mixed.length).toBeCloseTo(share, 2);
    // Passes: each real example comes floor or ceil(realCount / 7) times.
    const counts = real.map((r) => taken.filter((x) => x === r).length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
  });

  it('is deterministic for a seed and shuffles the result', () => {
    const a = mixExamples(synthetic, real, 0.5, new Rng(7));
    expect(mixExamples(synthetic, real, 0.5, new Rng(7))).toEqual(a);
    expect(mixExamples(synthetic, real, 0.5, new Rng(8))).not.toEqual(a);
    expect(a.slice(0, 90)).not.toEqual(synthetic);
  });

  it('share 0 keeps the synthetic examples as they are', () => {
    expect(mixExamples(synthetic, real, 0, new Rng(1))).toEqual(synthetic);
    expect(mixExamples(synthetic, [], 0, new Rng(1))).toEqual(synthetic);
  });

  it.each([
    [1, 'share must be in [0, 1), got 1'],
    [-0.1, 'share must be in [0, 1), got -0.1'],
    [Number.NaN, 'share must be in [0, 1), got NaN'],
  ])('refuses share %s', (share, message) => {
    expect(() => mixExamples(synthetic, real, share, new Rng(1))).toThrow(`mixExamples: ${message}`);
  });

  it('refuses a positive share without real examples', () => {
    expect(() => mixExamples(synthetic, [], 0.5, new Rng(1))).toThrow('mixExamples: share is 0.5 but there are no real examples');
  });
});
