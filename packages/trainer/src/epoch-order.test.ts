import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { epochOrder, LENGTH_GROUP_WINDOW } from './epoch-order';

// Lengths 1..60 in a scrambled order of indices, so sorting by length is not sorting by index.
const lengthOf = (i: number) => ((i * 37) % 997) % 60 + 1;
const batches = (order: number[], size: number) => Array.from({ length: Math.ceil(order.length / size) }, (_, b) => order.slice(b * size, (b + 1) * size));
const waste = (groups: number[][]) => {
  let real = 0;
  let padded = 0;
  for (const g of groups) {
    const lengths = g.map(lengthOf);
    real += lengths.reduce((a, b) => a + b, 0);
    padded += Math.max(...lengths) * g.length;
  }
  return 1 - real / padded;
};

describe('epochOrder', () => {
  it('without lengths: the one seeded shuffle it always was', () => {
    expect(epochOrder(new Rng(7), 100, 8)).toEqual(new Rng(7).shuffle(Array.from({ length: 100 }, (_, i) => i)));
  });

  it('group_by_length: a permutation whose batches pad far less, still seeded and shuffled', () => {
    const n = 2 * LENGTH_GROUP_WINDOW * 16 + 5; // two windows and a short last batch of 5
    const grouped = epochOrder(new Rng(3), n, 16, lengthOf);
    expect([...grouped].sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(epochOrder(new Rng(3), n, 16, lengthOf)).toEqual(grouped);
    expect(epochOrder(new Rng(4), n, 16, lengthOf)).not.toEqual(grouped);
    const plain = epochOrder(new Rng(3), n, 16);
    expect(waste(batches(plain, 16))).toBeGreaterThan(0.4);
    expect(waste(batches(grouped, 16))).toBeLessThan(0.05);
    // The batches are not in length order: the epoch meets short and long ones mixed.
    const longest = batches(grouped, 16).slice(0, -1).map((b) => Math.max(...b.map(lengthOf)));
    expect(longest.some((x, i) => i > 0 && x > longest[i - 1])).toBe(true);
    expect(longest.some((x, i) => i > 0 && x < longest[i - 1])).toBe(true);
    // The short batch stays last, so the trainer's batch slicing sees the same sizes.
    expect(batches(grouped, 16).at(-1)).toHaveLength(5);
  });

  it('a bad length is an error naming the example', () => {
    expect(() => epochOrder(new Rng(1), 10, 4, (i) => (i === 6 ? Number.NaN : 3))).toThrow(/epochOrder: exampleLength\(6\) must be a finite number >= 0, got NaN/);
  });
});
