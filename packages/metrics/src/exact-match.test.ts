import { describe, expect, it } from 'vitest';
import { exactMatch } from './exact-match';

describe('exactMatch', () => {
  it.each([
    { preds: ['我们', '好', 'abc'], refs: ['我们', '好', 'abd'], expected: 2 / 3 },
    { preds: ['a'], refs: ['a'], expected: 1 },
    // No normalisation: trailing space and full-width punctuation differ.
    { preds: ['好 ', '好!'], refs: ['好', '好！'], expected: 0 },
    { preds: [], refs: [], expected: 0 },
  ])('$preds vs $refs -> $expected', ({ preds, refs, expected }) => {
    expect(exactMatch(preds, refs)).toBeCloseTo(expected, 12);
  });

  it('rejects different lengths', () => {
    expect(() => exactMatch(['a', 'b'], ['a'])).toThrow('exactMatch: preds has 2 entries but refs has 1');
  });
});
