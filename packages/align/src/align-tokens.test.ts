import { describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { naiveLevenshtein } from '../test/naive-dp';
import { randomPair } from '../test/random-pairs';
import { alignTokens, levenshtein } from './align-tokens';
import type { AlignStep } from './types';

const chars = (text: string) => Array.from(text);

/** Checks that steps are a valid alignment and returns its cost (non-keep steps). */
function checkAlignment(source: string[], target: string[], steps: AlignStep[]): number {
  let i = 0;
  let j = 0;
  let cost = 0;
  for (const step of steps) {
    if (step.op === 'keep' || step.op === 'replace') {
      expect([step.source, step.target]).toEqual([i, j]);
      if (step.op === 'keep') expect(source[i]).toBe(target[j]);
      else cost++;
      i++;
      j++;
    } else if (step.op === 'delete') {
      expect(step.source).toBe(i++);
      cost++;
    } else {
      expect(step.target).toBe(j++);
      cost++;
    }
  }
  expect([i, j]).toEqual([source.length, target.length]);
  return cost;
}

describe('levenshtein', () => {
  it.each([
    { a: '', b: '', d: 0 },
    { a: 'abc', b: '', d: 3 },
    { a: '', b: '𠀀𝒳', d: 2 },
    { a: 'kitten', b: 'sitting', d: 3 },
    { a: '我朋唷', b: '我朋友', d: 1 },
    { a: 'ab', b: 'ba', d: 2 },
  ])('levenshtein($a, $b) = $d', ({ a, b, d }) => {
    expect(levenshtein(chars(a), chars(b))).toBe(d);
    expect(levenshtein(chars(b), chars(a))).toBe(d);
  });

  it('matches a textbook DP on random pairs', () => {
    const rng = new Rng(11);
    for (let k = 0; k < 2000; k++) {
      const { source, target } = randomPair(rng);
      expect(levenshtein(source, target)).toBe(naiveLevenshtein(source, target));
    }
  });
});

describe('alignTokens', () => {
  it('is a valid minimal alignment on random pairs', () => {
    const rng = new Rng(12);
    for (let k = 0; k < 2000; k++) {
      const { source, target } = randomPair(rng);
      const steps = alignTokens(source, target);
      expect(checkAlignment(source, target, steps)).toBe(naiveLevenshtein(source, target));
    }
  });

  const ops = (steps: AlignStep[]) => steps.map((s) => (s.op === 'insert' ? `insert→${s.target}` : `${s.op}${s.source}`));

  it.each([
    { name: 'replace', source: '我朋唷', target: '我朋友', expected: ['keep0', 'keep1', 'replace2'] },
    // REPLACE beats DELETE+INSERT of equal cost.
    { name: 'swap', source: 'ab', target: 'ba', expected: ['replace0', 'replace1'] },
    // A duplicated token loses its second copy (common prefix is kept first).
    { name: 'duplicate', source: '我我朋友', target: '我朋友', expected: ['keep0', 'delete1', 'keep2', 'keep3'] },
    // An insertion into a run of equal tokens goes at the end of the run.
    { name: 'insert in run', source: 'aa', target: 'aaa', expected: ['keep0', 'keep1', 'insert→2'] },
    // In a mixed run, forward order is INSERT then REPLACE.
    { name: 'mixed run', source: 'abc', target: 'aXYc', expected: ['keep0', 'insert→1', 'replace1', 'keep2'] },
    // Two REPLACEs rather than delete a, keep b, insert c (same cost, fewer masks to insert).
    { name: 'replace over delete+insert', source: 'ab', target: 'bc', expected: ['replace0', 'replace1'] },
    // DELETE before INSERT in the backtrace: deletes as late, inserts as early as possible.
    { name: 'delete late, insert early', source: 'aba', target: 'bab', expected: ['insert→0', 'keep0', 'keep1', 'delete2'] },
    { name: 'insert at start', source: '朋友', target: '我朋友', expected: ['insert→0', 'keep0', 'keep1'] },
    { name: 'delete at end', source: '我朋友了', target: '我朋友', expected: ['keep0', 'keep1', 'keep2', 'delete3'] },
    { name: 'empty source', source: '', target: '𠀀', expected: ['insert→0'] },
    { name: 'empty target', source: '𠀀', target: '', expected: ['delete0'] },
  ])('tie-breaks $name deterministically', ({ source, target, expected }) => {
    expect(ops(alignTokens(chars(source), chars(target)))).toEqual(expected);
  });

  it('aligns a long sentence pair without blowing up', () => {
    const rng = new Rng(13);
    const source = Array.from({ length: 3000 }, () => rng.pick(chars('我朋友唷的了是不')));
    const target = source.slice();
    target.splice(1500, 3, '在');
    target[10] = '唷';
    const steps = alignTokens(source, target);
    expect(checkAlignment(source, target, steps)).toBe(levenshtein(source, target));
    expect(levenshtein(source, target)).toBeLessThanOrEqual(4);
  });

  it('names itself for bad arguments', () => {
    expect(() => alignTokens('abc' as unknown as string[], [])).toThrow(/alignTokens: source must be an array/);
    expect(() => levenshtein([], null as unknown as string[])).toThrow(/levenshtein: b must be an array/);
  });
});
