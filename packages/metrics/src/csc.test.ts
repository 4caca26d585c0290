import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cscMetrics, type CscMetrics } from './csc';
import type { PRFCounts } from './fbeta';

type Counts = [tp: number, fp: number, fn: number, precision: number, recall: number, f1: number];

function expectLevel(actual: PRFCounts, [tp, fp, fn, precision, recall, f1]: Counts): void {
  expect({ tp: actual.tp, fp: actual.fp, fn: actual.fn }).toEqual({ tp, fp, fn });
  expect(actual.precision).toBeCloseTo(precision, 12);
  expect(actual.recall).toBeCloseTo(recall, 12);
  expect(actual.f1).toBeCloseTo(f1, 12);
}

interface Case {
  name: string;
  triples: [source: string, target: string, pred: string][];
  sentence: { detection: Counts; correction: Counts };
  char: { detection: Counts; correction: Counts };
  fpr: number;
  sentences: number;
  length_mismatch: number;
  gold_length_mismatch?: number;
}

const cases: Case[] = [
  {
    // One error fixed, one clean sentence left alone.
    // Sentence: 1 predicted, 1 gold, TP 1 -> P = R = F1 = 1. Char: 1 position, TP 1. FPR 0/1.
    name: 'all correct',
    triples: [
      ['我门去学校', '我们去学校', '我们去学校'],
      ['今天天气好', '今天天气好', '今天天气好'],
    ],
    sentence: { detection: [1, 0, 0, 1, 1, 1], correction: [1, 0, 0, 1, 1, 1] },
    char: { detection: [1, 0, 0, 1, 1, 1], correction: [1, 0, 0, 1, 1, 1] },
    fpr: 0,
    sentences: 2,
    length_mismatch: 0,
  },
  {
    // Nothing to score: every ratio is 0/0, defined as 0.
    name: 'empty input',
    triples: [],
    sentence: { detection: [0, 0, 0, 0, 0, 0], correction: [0, 0, 0, 0, 0, 0] },
    char: { detection: [0, 0, 0, 0, 0, 0], correction: [0, 0, 0, 0, 0, 0] },
    fpr: 0,
    sentences: 0,
    length_mismatch: 0,
  },
  {
    // The clean sentence gets 汽 for 气: 2 sentences predicted, 1 gold, TP 1.
    // P = 1/2, R = 1/1, F1 = 2·0.5·1/1.5 = 2/3. Char: 2 positions predicted, 1 gold, TP 1: same.
    // FPR = 1 changed clean sentence / 1 clean sentence = 1.
    name: 'over-correction of a clean sentence',
    triples: [
      ['我门去学校', '我们去学校', '我们去学校'],
      ['今天天气好', '今天天气好', '今天天汽好'],
    ],
    sentence: { detection: [1, 1, 0, 0.5, 1, 2 / 3], correction: [1, 1, 0, 0.5, 1, 2 / 3] },
    char: { detection: [1, 1, 0, 0.5, 1, 2 / 3], correction: [1, 1, 0, 0.5, 1, 2 / 3] },
    fpr: 1,
    sentences: 2,
    length_mismatch: 0,
  },
  {
    // Fixes 门 but also changes 校 -> 效 in the same sentence: positions {1,4} vs gold {1}.
    // Sentence: predicted 1, gold 1, no TP -> 0/0/0. Char: predicted 2, gold 1, TP 1 -> P 1/2, R 1, F1 2/3.
    // The gold sentence has an error, so it is not a false alarm: FPR 0/0 = 0.
    name: 'over-correction inside an erroneous sentence',
    triples: [['我门去学校', '我们去学校', '我们去学效']],
    sentence: { detection: [0, 1, 1, 0, 0, 0], correction: [0, 1, 1, 0, 0, 0] },
    char: { detection: [1, 1, 0, 0.5, 1, 2 / 3], correction: [1, 1, 0, 0.5, 1, 2 / 3] },
    fpr: 0,
    sentences: 1,
    length_mismatch: 0,
  },
  {
    // Right position, wrong char (闷 for 们): detection TP 1 (P = R = 1), correction TP 0 (P = R = 0).
    name: 'detected but miscorrected',
    triples: [['我门去学校', '我们去学校', '我闷去学校']],
    sentence: { detection: [1, 0, 0, 1, 1, 1], correction: [0, 1, 1, 0, 0, 0] },
    char: { detection: [1, 0, 0, 1, 1, 1], correction: [0, 1, 1, 0, 0, 0] },
    fpr: 0,
    sentences: 1,
    length_mismatch: 0,
  },
  {
    // Two gold errors (positions 1 and 4), only 门 fixed. Sentence: positions {1} != {1,4} -> no TP,
    // P = 0/1, R = 0/1. Char: predicted 1, gold 2, TP 1 -> P 1, R 1/2, F1 = 2·0.5/1.5 = 2/3.
    name: 'partial correction',
    triples: [['他门在学效', '他们在学校', '他们在学效']],
    sentence: { detection: [0, 1, 1, 0, 0, 0], correction: [0, 1, 1, 0, 0, 0] },
    char: { detection: [1, 0, 1, 1, 0.5, 2 / 3], correction: [1, 0, 1, 1, 0.5, 2 / 3] },
    fpr: 0,
    sentences: 1,
    length_mismatch: 0,
  },
  {
    // 𠀀 (U+20000) is two UTF-16 units but one code point, so the error is at position 1, not 2.
    // Sentence 1 is fixed; sentence 2 writes the non-BMP 𠀁 at the error position: the same length in
    // code points (no length mismatch), a detection hit and a correction miss.
    // Sentence detection: TP 2 of 2 -> 1. Correction: TP 1 of 2 predicted / 2 gold -> P = R = F1 = 1/2.
    // Char is the same (one position per sentence).
    name: 'non-BMP characters are one position each',
    triples: [
      ['𠀀门好', '𠀀们好', '𠀀们好'],
      ['我门好', '我们好', '我𠀁好'],
    ],
    sentence: { detection: [2, 0, 0, 1, 1, 1], correction: [1, 1, 1, 0.5, 0.5, 0.5] },
    char: { detection: [2, 0, 0, 1, 1, 1], correction: [1, 1, 1, 0.5, 0.5, 0.5] },
    fpr: 0,
    sentences: 2,
    length_mismatch: 0,
  },
  {
    // Sentence 1 adds 了 (6 vs 5 code points): a predicted sentence that is never a TP, and its one
    // gold position counts as missed. Sentence 2 (clean) drops a char: predicted, and a false alarm.
    // Sentence: predicted 2, gold 1, TP 0 -> P 0, R 0. Char: predicted 0, gold 1 -> P 0/0 = 0, R 0.
    // FPR = 1/1.
    name: 'length-changing predictions',
    triples: [
      ['我门去学校', '我们去学校', '我们去学校了'],
      ['今天天气好', '今天天气好', '今天气好'],
    ],
    sentence: { detection: [0, 2, 1, 0, 0, 0], correction: [0, 2, 1, 0, 0, 0] },
    char: { detection: [0, 0, 1, 0, 0, 0], correction: [0, 0, 1, 0, 0, 0] },
    fpr: 1,
    sentences: 2,
    length_mismatch: 2,
  },
  {
    // The gold pair changes length (他在家 -> 他在家里), which SIGHAN-style CSC cannot score: it is
    // skipped and counted; only the second sentence is scored (fixed: all 1s).
    name: 'gold pairs of different lengths are skipped',
    triples: [
      ['他在家', '他在家里', '他在家里'],
      ['我门去学校', '我们去学校', '我们去学校'],
    ],
    sentence: { detection: [1, 0, 0, 1, 1, 1], correction: [1, 0, 0, 1, 1, 1] },
    char: { detection: [1, 0, 0, 1, 1, 1], correction: [1, 0, 0, 1, 1, 1] },
    fpr: 0,
    sentences: 1,
    length_mismatch: 0,
    gold_length_mismatch: 1,
  },
];

describe('cscMetrics', () => {
  it.each(cases)('$name', (c) => {
    const m = cscMetrics(
      c.triples.map((t) => t[0]),
      c.triples.map((t) => t[1]),
      c.triples.map((t) => t[2]),
    );
    expectLevel(m.sentence.detection, c.sentence.detection);
    expectLevel(m.sentence.correction, c.sentence.correction);
    expectLevel(m.char.detection, c.char.detection);
    expectLevel(m.char.correction, c.char.correction);
    expect(m.fpr).toBeCloseTo(c.fpr, 12);
    expect(m.sentences).toBe(c.sentences);
    expect(m.length_mismatch).toBe(c.length_mismatch);
    expect(m.gold_length_mismatch).toBe(c.gold_length_mismatch ?? 0);
  });

  it('has the JSON shape printed by `gap-relm eval --json`', () => {
    const m = cscMetrics(['我门'], ['我们'], ['我们']);
    expect(Object.keys(m).sort()).toEqual(['char', 'fpr', 'gold_length_mismatch', 'length_mismatch', 'sentence', 'sentences']);
    for (const level of [m.sentence, m.char]) {
      for (const scores of [level.detection, level.correction]) {
        expect(Object.keys(scores).sort()).toEqual(['f05', 'f1', 'f2', 'fn', 'fp', 'precision', 'recall', 'tp']);
      }
    }
  });

  it('rejects lists of different lengths, naming both', () => {
    expect(() => cscMetrics(['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd'], ['a', 'b', 'c'])).toThrow(
      'cscMetrics: preds has 3 entries but sources has 4',
    );
    expect(() => cscMetrics(['a'], [], ['a'])).toThrow('cscMetrics: targets has 0 entries but sources has 1');
  });

  it('matches the independent Python reference on 200 seeded SIGHAN-15 triples', () => {
    const fixture = JSON.parse(readFileSync(new URL('../test/fixtures/csc-reference.json', import.meta.url), 'utf8')) as {
      triples: [string, string, string][];
      expected: CscMetrics;
    };
    expect(fixture.triples).toHaveLength(200);
    const t = fixture.triples;
    const actual = cscMetrics(
      t.map((x) => x[0]),
      t.map((x) => x[1]),
      t.map((x) => x[2]),
    );
    const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9;
    const flat = (m: CscMetrics): [string, number][] =>
      (['sentence', 'char'] as const).flatMap((level) =>
        (['detection', 'correction'] as const).flatMap((kind) =>
          Object.entries(m[level][kind]).map(([k, v]): [string, number] => [`${level}.${kind}.${k}`, v]),
        ),
      );
    const expected = new Map(flat(fixture.expected));
    const got = flat(actual);
    expect(got).toHaveLength(32);
    for (const [key, value] of got) {
      expect(expected.has(key), key).toBe(true);
      expect(close(value, expected.get(key)!), `${key}: ${value} vs ${expected.get(key)}`).toBe(true);
    }
    expect(close(actual.fpr, fixture.expected.fpr)).toBe(true);
    expect(actual.sentences).toBe(fixture.expected.sentences);
    expect(actual.length_mismatch).toBe(fixture.expected.length_mismatch);
    expect(actual.gold_length_mismatch).toBe(fixture.expected.gold_length_mismatch);
    // The fixture exercises every branch: some TPs, some misses, some length changes.
    expect(actual.sentence.correction.tp).toBeGreaterThan(0);
    expect(actual.sentence.correction.fp).toBeGreaterThan(0);
    expect(actual.length_mismatch).toBeGreaterThan(0);
  });
});
