import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { groupByLength } from './length-groups';

const waste = (lengths: number[], group: number[]) => {
  const longest = Math.max(...group.map((i) => lengths[i]));
  return 1 - group.reduce((s, i) => s + lengths[i], 0) / (group.length * longest);
};

describe('groupByLength', () => {
  it('keeps similar lengths together and splits a long outlier off', () => {
    expect(groupByLength([10, 11, 10, 12])).toEqual([[0, 2, 1, 3]]);
    expect(groupByLength([10, 120, 11, 12])).toEqual([[0, 2, 3], [1]]);
    expect(groupByLength([])).toEqual([]);
    expect(groupByLength([7])).toEqual([[0]]);
  });

  it('maxWaste 1 is one batch; maxWaste 0 groups equal lengths only', () => {
    expect(groupByLength([3, 9, 5], 1)).toEqual([[0, 2, 1]]);
    expect(groupByLength([4, 6, 4, 6], 0)).toEqual([[0, 2], [1, 3]]);
    expect(() => groupByLength([1], 1.5)).toThrow('groupByLength: maxWaste must be in [0, 1], got 1.5');
  });

  it('on random lengths: every index once, each group within the waste bound, fewer padded tokens', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 50; trial++) {
      const lengths = Array.from({ length: 1 + rng.int(40) }, () => 3 + rng.int(120));
      const groups = groupByLength(lengths, 0.2);
      expect(groups.flat().sort((a, b) => a - b)).toEqual(lengths.map((_, i) => i));
      for (const g of groups) expect(waste(lengths, g)).toBeLessThanOrEqual(0.2 + 1e-12);
      const padded = groups.reduce((s, g) => s + g.length * Math.max(...g.map((i) => lengths[i])), 0);
      expect(padded).toBeLessThanOrEqual(lengths.length * Math.max(...lengths));
    }
  });
});
