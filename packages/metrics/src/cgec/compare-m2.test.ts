import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cherrantPRF, compareM2 } from './compare-m2';
import { parseM2, type M2Edit, type M2Sentence } from './m2';
import { pythonRound } from './python-round';

const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8');

/** A sentence from edits written as [start, end, correction, annotator, type?]. */
function sentence(...edits: [number, number, string, number, string?][]): M2Sentence {
  return {
    source: [],
    edits: edits.map(([start, end, correction, annotator, type]): M2Edit => ({ start, end, correction, annotator, type: type ?? 'S' })),
  };
}
const noop = (annotator: number): [number, number, string, number, string] => [-1, -1, '', annotator, 'noop'];

describe('compareM2', () => {
  it("reproduces ChERRANT's documented demo result: TP 8, FP 19, FN 35, P 0.2963, R 0.186, F0.5 0.2649", () => {
    const hyp = parseM2(fixture('demo.hyp.m2.char'), 'demo.hyp.m2.char');
    const ref = parseM2(fixture('demo.ref.m2.char'), 'demo.ref.m2.char');
    expect(hyp).toHaveLength(20);
    const s = compareM2(hyp, ref);
    expect({ tp: s.tp, fp: s.fp, fn: s.fn }).toEqual({ tp: 8, fp: 19, fn: 35 });
    // ChERRANT prints round(x, 4).
    expect([pythonRound(s.precision, 4), pythonRound(s.recall, 4), pythonRound(s.f05, 4)]).toEqual([0.2963, 0.186, 0.2649]);
    expect(s.sentences).toBe(20);
    expect(s.skipped).toBe(0);
  });

  it('picks the reference with the higher F0.5', () => {
    // Hyp fixes 们 only. Ref 0 wants 们 -> (tp 1, fp 0, fn 0), F 1. Ref 1 wants 们 and 校 ->
    // (1, 0, 1): P 1, R 1/2, F0.5 = 1.25·0.5/(0.25 + 0.5) = 0.8333. Ref 0 wins.
    const s = compareM2([sentence([1, 2, '们', 0])], [sentence([1, 2, '们', 0], [1, 2, '们', 1], [4, 5, '校', 1])]);
    expect(s).toMatchObject({ tp: 1, fp: 0, fn: 0, chosen: [0] });
  });

  it('chooses by the F of the corpus so far plus this sentence, not by the sentence alone', () => {
    // Sentence 1: 4 hypothesis edits, all in the only reference -> totals (4, 0, 0).
    // Sentence 2: hyp {a, b}. Ref 0 = {a} -> (1, 1, 0), alone F0.5 0.5556; ref 1 = {a, b} + 5 more
    // -> (2, 0, 5), alone F0.5 0.6667, so a per-sentence choice would take ref 1. With the totals:
    // ref 0 gives (5, 1, 0), F0.5 = 1.25·(5/6)/(0.25·(5/6) + 1) = 0.8621; ref 1 gives (6, 0, 5),
    // F0.5 = 1.25·(6/11)/(0.25 + 6/11) = 0.8571. ChERRANT takes ref 0.
    const first = sentence([0, 1, 'p', 0], [1, 2, 'q', 0], [2, 3, 'r', 0], [3, 4, 's', 0]);
    const ref1: [number, number, string, number][] = [[0, 1, 'a', 1], [2, 3, 'b', 1]];
    for (let k = 0; k < 5; k++) ref1.push([10 + k, 11 + k, 'z', 1]);
    const s = compareM2([first, sentence([0, 1, 'a', 0], [2, 3, 'b', 0])], [first, sentence([0, 1, 'a', 0], ...ref1)]);
    expect(s).toMatchObject({ tp: 5, fp: 1, fn: 0, chosen: [0, 0] });
  });

  it('breaks an F tie by more TP, even for a later reference', () => {
    // Hyp has 2 edits. Ref 0 matches one and has nothing else: (1, 1, 0), P 1/2, R 1,
    // F0.5 = 1.25·0.5/(0.125 + 1) = 5/9. Ref 1 matches both and has 8 more: (2, 0, 8), P 1, R 1/5,
    // F0.5 = 1.25·0.2/(0.25 + 0.2) = 5/9. Same rounded F, ref 1 has more TP.
    const ref1: [number, number, string, number][] = [[0, 1, 'a', 1], [2, 3, 'b', 1]];
    for (let k = 0; k < 8; k++) ref1.push([10 + k, 11 + k, 'z', 1]);
    const s = compareM2([sentence([0, 1, 'a', 0], [2, 3, 'b', 0])], [sentence([0, 1, 'a', 0], ...ref1)]);
    expect(s).toMatchObject({ tp: 2, fp: 0, fn: 8, chosen: [1] });
  });

  it('breaks a tie of F, TP and FP by fewer FN', () => {
    // Hyp edit a is wrong for both. Ref 0 wants b: (0, 1, 1), F 0. Ref 1 is a noop: (0, 1, 0), F 0
    // (P 0, R 1 by ChERRANT's convention). Same F, TP and FP; ref 1 has fewer FN.
    const s = compareM2([sentence([0, 1, 'a', 0])], [sentence([0, 1, 'b', 0], noop(1))]);
    expect(s).toMatchObject({ tp: 0, fp: 1, fn: 0, chosen: [1] });
  });

  it('never counts noop edits, and gives an empty hypothesis against a noop reference P = R = 1', () => {
    const s = compareM2([sentence()], [sentence(noop(0))]);
    expect(s).toMatchObject({ tp: 0, fp: 0, fn: 0, precision: 1, recall: 1, f05: 1 });
  });

  it('skips a sentence whose only reference is NA, and counts NA as a miss next to other references', () => {
    const na = (k: number): [number, number, string, number, string] => [-1, -1, '', k, 'NA'];
    const skipped = compareM2([sentence([0, 1, 'x', 0])], [sentence(na(0))]);
    expect(skipped).toMatchObject({ tp: 0, fp: 0, fn: 0, skipped: 1, chosen: [-1] });
    // With a second reference the NA annotator is an ordinary one whose -1 -1 key is a FN, unless
    // the hypothesis has no edits (its implicit noop sits on the same key).
    const withOther = compareM2([sentence([0, 1, 'x', 0])], [sentence(na(0), [0, 1, 'x', 1])]);
    expect(withOther).toMatchObject({ tp: 1, fp: 0, fn: 0, skipped: 0, chosen: [1] });
    const emptyHyp = compareM2([sentence()], [sentence(na(0), [0, 1, 'x', 1])]);
    expect(emptyHyp).toMatchObject({ tp: 0, fp: 0, fn: 0, chosen: [0] });
  });

  it('drops UNK edits (detection-only) and counts a repeated span once per listed type', () => {
    // Ref lists (0, 1, a) twice: a matching hypothesis edit earns 2 TP, as in ChERRANT.
    const s = compareM2([sentence([0, 1, 'a', 0], [3, 4, 'q', 0, 'UNK'])], [sentence([0, 1, 'a', 0], [0, 1, 'a', 0], [5, 6, 'u', 0, 'UNK'])]);
    expect(s).toMatchObject({ tp: 2, fp: 0, fn: 0 });
  });

  it('validates its arguments', () => {
    expect(() => compareM2([sentence()], [])).toThrow('compareM2: hyp has 1 sentences but ref has 0');
    expect(() => compareM2([], [], { beta: 0 })).toThrow('compareM2: options.beta must be a finite number > 0, got 0');
  });
});

describe('cherrantPRF', () => {
  it.each([
    // P = 8/27, R = 8/43 (the demo)
    { tp: 8, fp: 19, fn: 35, p: 8 / 27, r: 8 / 43 },
    // No FP: P is 1 even with no TP; no FN: R is 1.
    { tp: 0, fp: 0, fn: 3, p: 1, r: 0 },
    { tp: 0, fp: 2, fn: 0, p: 0, r: 1 },
    { tp: 0, fp: 0, fn: 0, p: 1, r: 1 },
  ])('tp $tp fp $fp fn $fn -> P $p R $r', ({ tp, fp, fn, p, r }) => {
    const s = cherrantPRF(tp, fp, fn);
    expect(s.precision).toBeCloseTo(p, 12);
    expect(s.recall).toBeCloseTo(r, 12);
    expect(s.f05).toBeCloseTo(p + r ? (1.25 * p * r) / (0.25 * p + r) : 0, 12);
  });
});
