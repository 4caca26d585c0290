import { describe, expect, it } from 'vitest';
import {
  applyMinP,
  applyRepetitionPenalty,
  applyTemperature,
  applyTopK,
  applyTopP,
  banRepeatedNgrams,
  processLogits,
} from './logits-processors';
import { DEFAULT_GENERATION_CONFIG } from './generation-config';

const row = (xs: number[]) => Float32Array.from(xs);
const kept = (r: Float32Array) => Array.from(r.keys()).filter((i) => r[i] !== -Infinity);
/** Logits whose softmax is exactly `probs` (up to float32 rounding). */
const fromProbs = (probs: number[]) => row(probs.map((p) => (p === 0 ? -Infinity : Math.log(p))));

describe('applyRepetitionPenalty', () => {
  it.each([
    // logits, tokens, penalty, expected: positive / p, negative × p, each distinct token once
    [[2, -1, 0.5, 3], [0, 1, 1], 2, [1, -2, 0.5, 3]],
    [[2, -1, 0.5, 3], [3, 2], 1.5, [2, -1, 0.5 / 1.5, 2]],
    [[2, -1, 0, 3], [2, 1], 0.5, [2, -0.5, 0, 3]], // p < 1 rewards repeats
    [[2, -1, 0.5, 3], [], 2, [2, -1, 0.5, 3]],
  ])('%j with tokens %j and penalty %d → %j', (logits, tokens, penalty, expected) => {
    const r = applyRepetitionPenalty(row(logits), tokens, penalty);
    expected.forEach((x, i) => expect(r[i]).toBeCloseTo(x, 6));
  });
});

describe('banRepeatedNgrams', () => {
  it.each([
    // tokens, n, banned ids
    [[1, 2, 3, 1, 2], 3, [3]], // prefix (1, 2) was followed by 3
    [[1, 2, 3, 1, 2, 4, 1, 2], 3, [3, 4]],
    [[1, 2, 3, 1, 2], 2, [3]], // prefix (2) was followed by 3
    [[1, 2, 3, 1], 2, [2]],
    [[1, 2, 3, 1, 2], 1, [1, 2, 3]], // unigrams: every seen token
    [[1, 2], 3, []], // too short for a prefix to have occurred before
    [[1, 2, 1], 4, []],
    [[0, 0, 0], 2, [0]],
  ])('%j with n = %d bans %j', (tokens, n, banned) => {
    const r = banRepeatedNgrams(row([0, 1, 2, 3, 4, 5]), tokens, n);
    expect(Array.from(r.keys()).filter((i) => r[i] === -Infinity)).toEqual(banned);
    expect(kept(r).every((i) => r[i] === i)).toBe(true);
  });
});

describe('applyTemperature', () => {
  it('divides every logit', () => {
    expect(Array.from(applyTemperature(row([2, -1, 0]), 0.5))).toEqual([4, -2, 0]);
    expect(() => applyTemperature(row([1]), 0)).toThrow('applyTemperature: temperature must be a finite number > 0, got 0');
  });
});

describe('applyTopK', () => {
  it.each([
    [[1, 5, 3, 4], 2, [1, 3]],
    [[1, 5, 3, 4], 1, [1]],
    [[2, 2, 2, 1], 2, [0, 1]], // ties: lower ids kept, exactly k
    [[1, 5, 3, 4], 0, [0, 1, 2, 3]], // off
    [[1, 5, 3, 4], 9, [0, 1, 2, 3]],
  ])('%j with k = %d keeps %j', (logits, k, expected) => {
    expect(kept(applyTopK(row(logits), k))).toEqual(expected);
  });
});

describe('applyTopP', () => {
  // probabilities 0.5, 0.3, 0.15, 0.05 in a shuffled order: ids by rank are 2, 0, 3, 1
  const probs = [0.3, 0.05, 0.5, 0.15];
  it.each([
    [0.4, [2]], // 0.5 >= 0.4
    [0.5 - 1e-6, [2]],
    [0.75, [0, 2]], // 0.5 + 0.3 = 0.8 >= 0.75, 0.5 alone is not
    [0.81, [0, 2, 3]], // 0.95
    [0.96, [0, 1, 2, 3]],
    [1, [0, 1, 2, 3]], // off
  ])('p = %d keeps %j', (p, expected) => {
    expect(kept(applyTopP(fromProbs(probs), p))).toEqual(expected);
  });

  it('keeps at least the top token, lower id first on ties', () => {
    expect(kept(applyTopP(fromProbs([0.25, 0.25, 0.25, 0.25]), 0.1))).toEqual([0]);
    expect(kept(applyTopP(fromProbs([0.25, 0.25, 0.25, 0.25]), 0.3))).toEqual([0, 1]);
  });

  it('leaves kept logits unchanged and ignores already-removed tokens', () => {
    const r = applyTopP(row([0, -Infinity, 1, 0.5]), 0.6);
    expect(Array.from(r)).toEqual([-Infinity, -Infinity, 1, 0.5]); // p = 0.506, 0.307, 0.186
  });
});

describe('applyMinP', () => {
  it.each([
    [0.5, [0, 2]], // threshold 0.25: 0.3 and 0.5 stay
    [0.2, [0, 2, 3]], // threshold 0.1
    [1, [2]],
    [0, [0, 1, 2, 3]],
  ])('minP = %d keeps %j', (minP, expected) => {
    expect(kept(applyMinP(fromProbs([0.3, 0.05, 0.5, 0.15]), minP))).toEqual(expected);
  });
});

describe('processLogits', () => {
  const base = { ...DEFAULT_GENERATION_CONFIG };

  it('penalises and bans on raw logits, before the top-k filter (transformers order)', () => {
    // The penalty acts first: token 0 (4 → 2) falls below token 1 (3), so top-1 keeps token 1 (filtering first would keep 0).
    const r = processLogits(row([4, 3, -1]), [0], { ...base, doSample: true, repetitionPenalty: 2, topK: 1, temperature: 0.5 });
    expect(Array.from(r)).toEqual([-Infinity, 6, -Infinity]);
    // The ban acts first too: 0 after 0 is banned, top-1 then keeps 1 (banning after top-1 would leave nothing).
    const b = processLogits(row([4, 3, -1]), [0, 0], { ...base, doSample: true, noRepeatNgramSize: 2, topK: 1 });
    expect(Array.from(b)).toEqual([-Infinity, 3, -Infinity]);
  });

  it('greedy skips the warpers but not the penalty or the n-gram ban', () => {
    const config = { ...base, temperature: 0.5, topK: 1, topP: 0.1, minP: 1, repetitionPenalty: 2, noRepeatNgramSize: 2 };
    const r = processLogits(row([4, 3, -1, 0.5]), [2, 1, 2], config);
    expect(Array.from(r)).toEqual([4, -Infinity, -2, 0.5]); // 1 follows 2 already; 2 penalised; no temperature or filters
  });

  it('applies top-k, then top-p on what is left', () => {
    // after top-2, probabilities renormalise to 0.625 / 0.375 for ids 2 / 0: top-p 0.6 keeps id 2 only
    const r = processLogits(fromProbs([0.3, 0.05, 0.5, 0.15]), [], { ...base, doSample: true, topK: 2, topP: 0.6 });
    expect(kept(r)).toEqual([2]);
    const r2 = processLogits(fromProbs([0.3, 0.05, 0.5, 0.15]), [], { ...base, doSample: true, topK: 3, topP: 0.6 });
    expect(kept(r2)).toEqual([0, 2]); // 0.5 / 0.95 = 0.526 < 0.6
  });
});
