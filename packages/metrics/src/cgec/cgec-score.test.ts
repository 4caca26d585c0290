import { describe, expect, it } from 'vitest';
import { cgecScore } from './cgec-score';

describe('cgecScore', () => {
  it('scores parallel text against the best of several references', () => {
    // Sentence 1: hyp fixes 们 only; ref 0 wants 们 and 校, ref 1 wants 们 only -> ref 1, (1, 0, 0).
    // Sentence 2: hyp inserts 在; the only ref inserts 在 at the same place -> (1, 0, 0).
    // Sentence 3: hyp changes a correct sentence; ref says 没有错误 -> (0, 1, 0).
    // Totals (2, 1, 0): P = 2/3, R = 1 (no FN), F0.5 = 1.25·(2/3)/(0.25·(2/3) + 1) = 0.8333/1.1667 = 5/7.
    const s = cgecScore(
      ['他门在学效', '这部电影不仅是国内', '今天天气很好'],
      ['他们在学效', '这部电影不仅是在国内', '今天天汽很好'],
      [['他们在学校', '他们在学效'], ['这部电影不仅是在国内'], ['没有错误']],
    );
    expect(s).toMatchObject({ tp: 2, fp: 1, fn: 0, chosen: [1, 0, 0], skipped: 0 });
    expect(s.precision).toBeCloseTo(2 / 3, 12);
    expect(s.recall).toBe(1);
    expect(s.f05).toBeCloseTo(5 / 7, 12);
  });

  it('removes whitespace like ChERRANT, and skips sentences whose only reference is 无法标注', () => {
    const s = cgecScore(['我 门去', '乱七八糟'], ['我们 去', '乱七八糟的'], [['我们去'], ['无法标注']]);
    expect(s).toMatchObject({ tp: 1, fp: 0, fn: 0, skipped: 1, chosen: [0, -1] });
  });

  it('counts missed reference edits as FN', () => {
    // Hyp leaves the sentence alone: (0, 0, 2). P = 1 by ChERRANT's convention, R = 0, F = 0.
    const s = cgecScore(['他门在学效'], ['他门在学效'], [['他们在学校']]);
    expect(s).toMatchObject({ tp: 0, fp: 0, fn: 2, precision: 1, recall: 0, f05: 0 });
  });

  it('validates its arguments', () => {
    expect(() => cgecScore(['a', 'b'], ['a'], [['a'], ['b']])).toThrow('cgecScore: hypotheses has 1 entries but sources has 2');
    expect(() => cgecScore(['a'], ['a'], [])).toThrow('cgecScore: references has 0 entries but sources has 1');
    expect(() => cgecScore(['a'], ['a'], [[]])).toThrow('cgecScore: references[0] is empty');
  });
});
