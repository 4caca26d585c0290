import { describe, expect, it } from 'vitest';
import { softmaxRows } from './softmax';

describe('softmaxRows', () => {
  it('normalises each row separately and matches exp(x)/sum', () => {
    const p = softmaxRows([0, Math.log(3), 0, 1, 1, 1], 3);
    expect(Array.from(p.subarray(0, 3))).toEqual([0.2, 0.6, 0.2].map((x) => expect.closeTo(x, 12)));
    expect(Array.from(p.subarray(3))).toEqual([1 / 3, 1 / 3, 1 / 3].map((x) => expect.closeTo(x, 12)));
  });

  it('does not overflow on large logits and gives -Infinity probability 0', () => {
    const p = softmaxRows([1000, 1000, -Infinity], 3);
    expect(Array.from(p)).toEqual([0.5, 0.5, 0]);
  });

  it.each([
    [[0, NaN, 0], 3, 'softmaxRows: logits[1] (row 0, column 1) must be finite or -Infinity, got NaN'],
    [[0, Infinity], 2, 'softmaxRows: logits[1] (row 0, column 1) must be finite or -Infinity, got Infinity'],
    [[0, 0, -Infinity, -Infinity], 2, 'softmaxRows: logits row 1 is all -Infinity'],
    [[0, 0, 0], 2, 'softmaxRows: logits has length 3, not a multiple of 2 columns'],
    [[0], 0, 'softmaxRows: cols must be an integer >= 1, got 0'],
  ])('rejects %j with %i columns', (logits, cols, message) => {
    expect(() => softmaxRows(logits, cols)).toThrow(message);
  });
});
