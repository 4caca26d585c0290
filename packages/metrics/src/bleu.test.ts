import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { corpusBleu, type BleuOptions, type BleuResult } from './bleu';

interface FixtureCase {
  name: string;
  options: { tokenize?: '13a' | 'zh'; lowercase?: boolean; smooth_method?: 'exp' | 'none' };
  hyps: string[];
  refs: string[][];
  expected: BleuResult;
}

const fixture = JSON.parse(readFileSync(new URL('../test/fixtures/bleu-sacrebleu.json', import.meta.url), 'utf8')) as {
  sacrebleu_version: string;
  cases: FixtureCase[];
};

const toOptions = (o: FixtureCase['options']): BleuOptions => ({
  tokenize: o.tokenize,
  lowercase: o.lowercase,
  smooth: o.smooth_method,
});

describe(`corpusBleu vs sacrebleu ${fixture.sacrebleu_version}`, () => {
  it('has the fixture cases', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(fixture.cases)('$name', (c) => {
    const got = corpusBleu(c.hyps, c.refs, toOptions(c.options));
    expect(Math.abs(got.score - c.expected.score), `score ${got.score} vs ${c.expected.score}`).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(got.bp - c.expected.bp)).toBeLessThanOrEqual(1e-9);
    got.precisions.forEach((p, n) => expect(Math.abs(p - c.expected.precisions[n]), `precision ${n + 1}`).toBeLessThanOrEqual(1e-9));
    expect({ sys_len: got.sys_len, ref_len: got.ref_len, counts: got.counts, totals: got.totals }).toEqual({
      sys_len: c.expected.sys_len,
      ref_len: c.expected.ref_len,
      counts: c.expected.counts,
      totals: c.expected.totals,
    });
  });
});

describe('corpusBleu', () => {
  it('scores a perfect match 100 and a disjoint hypothesis 0', () => {
    expect(corpusBleu(['a b c d e'], [['a b c d e']]).score).toBeCloseTo(100, 10);
    const miss = corpusBleu(['v w x y z'], [['a b c d e']]);
    expect(miss.score).toBe(0);
    expect(miss.counts).toEqual([0, 0, 0, 0]);
    expect(miss.totals).toEqual([5, 4, 3, 2]);
  });

  it('computes the brevity penalty by hand: 3 tokens vs 6 -> exp(1 - 6/3) = e^-1', () => {
    const r = corpusBleu(['a b c'], [['a b c d e f']]);
    expect(r.bp).toBeCloseTo(Math.exp(-1), 12);
    // 1-3 grams all match (100%); no 4-grams in the hypothesis, so BLEU is 0.
    expect(r.precisions.slice(0, 3)).toEqual([100, 100, 100]);
    expect(r.score).toBe(0);
  });

  it('validates its arguments', () => {
    expect(() => corpusBleu(['a', 'b'], [['a']])).toThrow('corpusBleu: references has 1 entries but hypotheses has 2');
    expect(() => corpusBleu(['a'], [[]])).toThrow('corpusBleu: references[0] is empty');
    expect(() => corpusBleu(['a'], [['a']], { tokenize: 'intl' as '13a' })).toThrow(
      "corpusBleu: options.tokenize must be '13a', 'zh' or 'none', got intl",
    );
  });
});
