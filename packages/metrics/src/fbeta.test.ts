import { describe, expect, it } from 'vitest';
import { f05, f1, f2, fbeta, prf, prfFromCounts } from './fbeta';

describe('fbeta', () => {
  it.each([
    // F1 = 2PR/(P+R) = 2·0.5·1/1.5 = 2/3
    { p: 0.5, r: 1, beta: 1, f: 2 / 3 },
    // F0.5 = 1.25·0.5·1 / (0.25·0.5 + 1) = 0.625/1.125 = 5/9
    { p: 0.5, r: 1, beta: 0.5, f: 5 / 9 },
    // F2 = 5·0.5·1 / (4·0.5 + 1) = 2.5/3 = 5/6
    { p: 0.5, r: 1, beta: 2, f: 5 / 6 },
    // Equal P and R give that value for every beta.
    { p: 0.3, r: 0.3, beta: 0.5, f: 0.3 },
    { p: 0, r: 0, beta: 1, f: 0 },
    { p: 1, r: 0, beta: 0.5, f: 0 },
  ])('fbeta($p, $r, $beta) = $f', ({ p, r, beta, f }) => {
    expect(fbeta(p, r, beta)).toBeCloseTo(f, 12);
  });

  it('has F1/F0.5/F2 helpers and prf() that agree with fbeta', () => {
    expect(f1(0.2, 0.8)).toBeCloseTo(0.32, 12); // 2·0.16/1.0
    expect(f05(0.2, 0.8)).toBe(fbeta(0.2, 0.8, 0.5));
    expect(f2(0.2, 0.8)).toBe(fbeta(0.2, 0.8, 2));
    expect(prf(0.2, 0.8)).toEqual({ precision: 0.2, recall: 0.8, f1: f1(0.2, 0.8), f05: f05(0.2, 0.8), f2: f2(0.2, 0.8) });
  });

  it('rejects out-of-range inputs and names the argument', () => {
    expect(() => fbeta(1.5, 0.5, 1)).toThrow('fbeta: precision must be a finite number in [0, 1], got 1.5');
    expect(() => fbeta(0.5, Number.NaN, 1)).toThrow('fbeta: recall must be a finite number in [0, 1], got NaN');
    expect(() => fbeta(0.5, 0.5, 0)).toThrow('fbeta: beta must be a finite number > 0, got 0');
  });
});

describe('prfFromCounts', () => {
  it('computes P = tp/(tp+fp) and R = tp/(tp+fn)', () => {
    // P = 3/4, R = 3/5, F1 = 2·0.45/1.35 = 2/3
    const s = prfFromCounts(3, 1, 2);
    expect(s).toMatchObject({ tp: 3, fp: 1, fn: 2 });
    expect(s.precision).toBeCloseTo(0.75, 12);
    expect(s.recall).toBeCloseTo(0.6, 12);
    expect(s.f1).toBeCloseTo(2 / 3, 12);
  });

  it('defines 0/0 as 0, never NaN', () => {
    expect(prfFromCounts(0, 0, 0)).toEqual({ tp: 0, fp: 0, fn: 0, precision: 0, recall: 0, f1: 0, f05: 0, f2: 0 });
    expect(prfFromCounts(0, 0, 4)).toMatchObject({ precision: 0, recall: 0, f1: 0 });
  });

  it('rejects negative or fractional counts', () => {
    expect(() => prfFromCounts(-1, 0, 0)).toThrow('prfFromCounts: tp must be a non-negative integer, got -1');
    expect(() => prfFromCounts(1, 0.5, 0)).toThrow('prfFromCounts: fp must be a non-negative integer, got 0.5');
  });
});
