import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { softmaxRows } from '../softmax';
import { greedyToken, sampleToken } from './sampler';

const fixed = (u: number) => ({ float: () => u });

describe('greedyToken', () => {
  it.each([
    [[0.1, 3, -2, 2.9], 1],
    [[-Infinity, -5, -Infinity], 1],
    [[1, 7, 7, 3], 1], // ties → lowest id
    [[7, 7], 0],
  ])('%j → %d', (row, id) => {
    expect(greedyToken(Float32Array.from(row))).toBe(id);
  });

  it('rejects rows with no allowed token or a NaN', () => {
    expect(() => greedyToken([-Infinity, -Infinity], 'generate')).toThrow('generate: every logit is -Infinity (no token allowed)');
    expect(() => greedyToken([1, NaN])).toThrow('greedyToken: logits[1] is NaN');
  });
});

describe('sampleToken', () => {
  const logits = Float32Array.from([Math.log(0.2), -Infinity, Math.log(0.5), Math.log(0.3)]);

  it.each([
    [0, 0], // inverse CDF over 0.2, 0 (skipped), 0.7, 1.0
    [0.1999, 0],
    [0.2001, 2],
    [0.6999, 2],
    [0.7001, 3],
    [0.999999999, 3],
  ])('u = %d → %d', (u, id) => {
    expect(sampleToken(logits, fixed(u))).toBe(id);
  });

  it.each([
    [0.25, 1], // exactly on a boundary: the interval of token i is [cdf(i - 1), cdf(i)), half-open
    [0.5, 2],
    [0.2499, 0],
  ])('uniform row, u = %d → %d', (u, id) => {
    expect(sampleToken(Float32Array.from([0, 0, 0, 0]), fixed(u))).toBe(id);
  });

  it('empirical frequencies match the softmax over many seeded draws', () => {
    const row = Float32Array.from([1.2, -0.3, 0.4, 2.0, -Infinity, 0]);
    const probs = softmaxRows(row, row.length);
    const rng = new Rng(7);
    const n = 40_000;
    const counts = new Array<number>(row.length).fill(0);
    for (let i = 0; i < n; i++) counts[sampleToken(row, rng)]++;
    expect(counts[4]).toBe(0);
    // 4 standard deviations of a binomial proportion at n = 40,000 is at most 0.01
    counts.forEach((c, i) => expect(Math.abs(c / n - probs[i])).toBeLessThan(0.01));
  });

  it('is deterministic for a seed and uses one float per draw', () => {
    const row = Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0]);
    const draw = (seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: 30 }, () => sampleToken(row, rng));
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
    const rng = new Rng(3);
    const expected = Array.from({ length: 30 }, () => Math.floor(rng.float() * 8)); // uniform row: id = floor(8u)
    expect(draw(3)).toEqual(expected);
  });

  it('rejects a random source outside [0, 1) and bad rows, naming the caller', () => {
    expect(() => sampleToken(logits, fixed(1), 'generate (row 0, step 2)')).toThrow('generate (row 0, step 2): rng.float() must return a number in [0, 1), got 1');
    expect(() => sampleToken([-Infinity, -Infinity], fixed(0.5))).toThrow('sampleToken: logits row 0 is all -Infinity');
  });
});
