import { describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { IGNORE_INDEX, maskTokens, sampleConditions, sampleTimesteps } from './forward-process';
import { maskProbability } from './schedule';

const T = 1000;
const MASK = 1;
const PAD = 0;
const options = { numTimesteps: T, maskId: MASK, padId: PAD, atLeastOne: false };

describe('forward process', () => {
  it('masks each token with probability 1 − alpha_bar(t): empirical rate within 4 sigma at several t', () => {
    const row = Int32Array.from({ length: 64 }, (_, i) => 2 + i);
    for (const t of [50, 300, 500, 800, 990]) {
      const rng = new Rng(t);
      const rows = new Array(200).fill(row);
      const { inputIds } = maskTokens(rows, new Int32Array(rows.length).fill(t), rng, options);
      const n = inputIds.length;
      const rate = inputIds.reduce((s, v) => s + (v === MASK ? 1 : 0), 0) / n;
      const p = maskProbability(t, T);
      expect(Math.abs(rate - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / n) + 1e-9);
    }
  });

  it('labels hold the original token exactly where masked; padding is never masked; positions and targets agree', () => {
    const rng = new Rng(7);
    const rows = [[5, 6, 7, 8, 9], [10, 11], [12, 13, 14]];
    const noised = maskTokens(rows, [700, 700, 999], rng, options);
    const L = 5;
    const flat: number[] = [];
    rows.forEach((r, b) => {
      for (let i = 0; i < L; i++) {
        const k = b * L + i;
        if (i >= r.length) {
          expect([noised.inputIds[k], noised.attentionMask[k], noised.labels[k]]).toEqual([PAD, 0, IGNORE_INDEX]);
        } else if (noised.inputIds[k] === MASK) {
          expect(noised.labels[k]).toBe(r[i]);
          flat.push(k);
        } else {
          expect([noised.inputIds[k], noised.labels[k], noised.attentionMask[k]]).toEqual([r[i], IGNORE_INDEX, 1]);
        }
      }
    });
    expect([...noised.positions]).toEqual(flat);
    expect([...noised.targets]).toEqual(flat.map((k) => noised.labels[k]));
  });

  it('same seed, same draws; atLeastOne masks one position of a row the draw left whole', () => {
    const rows = [[2, 3, 4, 5], [6, 7, 8]];
    const a = maskTokens(rows, [400, 400], new Rng(3), options);
    const b = maskTokens(rows, [400, 400], new Rng(3), options);
    expect(a).toEqual(b);
    for (let seed = 0; seed < 20; seed++) {
      const { positions } = maskTokens(rows, [1, 1], new Rng(seed), { ...options, atLeastOne: true });
      expect(positions.length).toBe(2);
      expect(positions[0]).toBeLessThan(4);
      expect(positions[1]).toBeGreaterThanOrEqual(4);
    }
    expect(maskTokens(rows, [T, T], new Rng(1), options).positions).toHaveLength(7);
  });

  it('keepIds ([CLS], [SEP]) are never masked, even at t = T; atLeastOne picks among the others', () => {
    const rows = [[2, 5, 6, 7, 3], [2, 3]];
    const all = maskTokens(rows, [T, T], new Rng(4), { ...options, keepIds: [2, 3] });
    expect([...all.inputIds]).toEqual([2, MASK, MASK, MASK, 3, 2, 3, PAD, PAD, PAD]);
    for (let seed = 0; seed < 10; seed++) {
      const { positions } = maskTokens(rows, [1, 1], new Rng(seed), { ...options, keepIds: [2, 3], atLeastOne: true });
      expect(positions).toHaveLength(1);
      expect([1, 2, 3]).toContain(positions[0]);
    }
  });

  it('timesteps are uniform on 1..T; conditions drop to 0 with probability uncondProb', () => {
    const rng = new Rng(11);
    const ts = sampleTimesteps(20000, T, rng);
    expect(Math.min(...ts)).toBe(1);
    expect(Math.max(...ts)).toBe(T);
    const mean = ts.reduce((s, v) => s + v, 0) / ts.length;
    expect(Math.abs(mean - 500.5)).toBeLessThan(4 * Math.sqrt((T * T - 1) / 12 / ts.length));
    const c = sampleConditions(20000, 0.1, rng);
    const dropped = c.reduce((s, v) => s + (v === 0 ? 1 : 0), 0) / c.length;
    expect(Math.abs(dropped - 0.1)).toBeLessThan(4 * Math.sqrt(0.09 / c.length));
    expect(c.every((v) => v === 0 || v === 1)).toBe(true);
  });
});
