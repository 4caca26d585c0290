import { describe, expect, it } from 'vitest';
import { cosineMaskSchedule, linearMaskSchedule, maskedCountAfterStep, maskedCounts, resolveMaskSchedule } from './schedule';

describe('mask schedules', () => {
  it.each([
    [0, 1, 1],
    [1 / 3, Math.sqrt(3) / 2, 2 / 3],
    [0.5, Math.SQRT1_2, 0.5],
    [2 / 3, 0.5, 1 / 3],
    [1, 0, 0],
  ])('at r = %f: cosine %f, linear %f', (r, cosine, linear) => {
    expect(cosineMaskSchedule(r)).toBeCloseTo(cosine, 12);
    expect(linearMaskSchedule(r)).toBeCloseTo(linear, 12);
  });

  it('end points are exact', () => {
    expect(cosineMaskSchedule(1)).toBe(0);
    expect(cosineMaskSchedule(0)).toBe(1);
    expect(linearMaskSchedule(1)).toBe(0);
  });

  it.each([-0.1, 1.1, NaN])('rejects r = %f', (r) => {
    expect(() => cosineMaskSchedule(r)).toThrow(`cosineMaskSchedule: r must be in [0, 1], got ${r}`);
    expect(() => linearMaskSchedule(r)).toThrow(`linearMaskSchedule: r must be in [0, 1], got ${r}`);
  });
});

describe('maskedCountAfterStep', () => {
  it.each([
    // cos(π/8) · 10 = 9.24, cos(π/4) · 10 = 7.07, cos(3π/8) · 10 = 3.83
    ['cosine', 10, 4, [10, 9, 7, 3, 0]],
    // 10 · (0.75, 0.5, 0.25) = 7.5, 5, 2.5
    ['linear', 10, 4, [10, 7, 5, 2, 0]],
    // exact multiples must not floor one too low through float error
    ['linear', 10, 10, [10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]],
    ['linear', 100, 10, [100, 90, 80, 70, 60, 50, 40, 30, 20, 10, 0]],
    // cos(π/6) · 6 = 5.196, cos(π/3) · 6 = 3
    ['cosine', 6, 3, [6, 5, 3, 0]],
    // fewer tokens than steps: at least one stays masked until the last step
    ['cosine', 1, 3, [1, 1, 1, 0]],
    ['linear', 2, 5, [2, 1, 1, 1, 1, 0]],
    ['cosine', 0, 3, [0, 0, 0, 0]],
    ['cosine', 5, 1, [5, 0]],
  ] as const)('%s, L = %i, T = %i: %j', (schedule, L, T, counts) => {
    expect(maskedCounts(schedule, T, L)).toEqual(counts);
  });

  it('is monotone, starts at L, ends at 0, keeps one masked until the last step, for many L and T', () => {
    for (const schedule of ['cosine', 'linear'] as const) {
      for (const L of [0, 1, 2, 3, 5, 7, 16, 33, 64, 100, 257]) {
        for (const T of [1, 2, 3, 4, 8, 12, 20, 50]) {
          const counts = maskedCounts(schedule, T, L);
          expect(counts).toHaveLength(T + 1);
          expect(counts[0]).toBe(L);
          expect(counts[T]).toBe(0);
          let revealed = 0;
          for (let t = 1; t <= T; t++) {
            expect(counts[t]).toBeLessThanOrEqual(counts[t - 1]);
            if (t < T && L > 0) expect(counts[t]).toBeGreaterThanOrEqual(1);
            revealed += counts[t - 1] - counts[t];
          }
          expect(revealed).toBe(L);
        }
      }
    }
  });

  it('cosine reveals fewer tokens early than linear', () => {
    const cosine = maskedCounts('cosine', 8, 64);
    const linear = maskedCounts('linear', 8, 64);
    for (let t = 1; t < 8; t++) expect(cosine[t]).toBeGreaterThanOrEqual(linear[t]);
    expect(cosine[1]).toBeGreaterThan(linear[1]);
  });

  it('takes a custom schedule function', () => {
    expect(maskedCounts((r) => (1 - r) ** 2, 2, 8)).toEqual([8, 2, 0]);
  });

  it.each([
    [() => maskedCountAfterStep('cosine', 4, 3, 5), 'maskedCountAfterStep: step must be an integer in [0, 3], got 4'],
    [() => maskedCountAfterStep('cosine', 0, 0, 5), 'maskedCountAfterStep: steps must be an integer >= 1, got 0'],
    [() => maskedCountAfterStep('cosine', 1, 3, -1), 'maskedCountAfterStep: length must be an integer >= 0, got -1'],
    [() => maskedCountAfterStep('cosine', 1, 3, 2.5), 'maskedCountAfterStep: length must be an integer >= 0, got 2.5'],
    [() => maskedCountAfterStep('square' as never, 1, 3, 5), 'maskedCountAfterStep: schedule must be one of cosine, linear or a function, got square'],
    [() => maskedCountAfterStep(() => 1.5, 1, 3, 5), 'maskedCountAfterStep: schedule(0.3333333333333333) must be in [0, 1], got 1.5'],
    [() => resolveMaskSchedule('toString' as never), 'resolveMaskSchedule: schedule must be one of cosine, linear'],
  ])('rejects bad arguments (%#)', (call, message) => {
    expect(call).toThrow(message);
  });
});
