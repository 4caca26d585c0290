import { describe, expect, it } from 'vitest';
import { sumNextTokenNll } from './heldout';

describe('sumNextTokenNll', () => {
  it.each([
    { logits: [0, 0, 0, 0], targets: [2], vocab: 4, want: Math.log(4) },
    { logits: [1, 2, 3, 1, 2, 3], targets: [2, 0], vocab: 3, want: 2 * Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)) - 3 - 1 },
    // Large logits: the log-sum-exp is taken around the row maximum, so nothing overflows.
    { logits: [1000, 999], targets: [1], vocab: 2, want: 1 + Math.log(1 + Math.exp(-1)) },
  ])('$logits → $want', ({ logits, targets, vocab, want }) => {
    expect(sumNextTokenNll(Float32Array.from(logits), Int32Array.from(targets), vocab)).toBeCloseTo(want, 5);
  });

  it('names the function and the bad argument', () => {
    expect(() => sumNextTokenNll(new Float32Array(5), new Int32Array(2), 3)).toThrow('sumNextTokenNll: logits has 5 entries, not targets 2 x vocab 3');
    expect(() => sumNextTokenNll(new Float32Array(3), Int32Array.from([3]), 3)).toThrow('sumNextTokenNll: target 0 is 3, outside the vocabulary 0..2');
  });
});
