import { PlannerOp, buildTemplate } from '@proj/align';
import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_GAP_RELM_DECODE_CONFIG } from './config';
import { decodePlan, plannerProbabilities, type PlannerProbabilities, type PlanThresholds } from './plan';

const { KEEP, DELETE, REPLACE } = PlannerOp;
const defaults: PlanThresholds = DEFAULT_GAP_RELM_DECODE_CONFIG;
const NO_INSERT = [1, 0, 0, 0];

/** Probabilities given directly (float64), so threshold boundaries are exact. */
function probs(op: number[][], insert: number[][] = op.map(() => NO_INSERT)): PlannerProbabilities {
  return { tokens: op.length - 1, maxInsertK: insert[0].length - 1, op: Float64Array.from(op.flat()), insert: Float64Array.from(insert.flat()) };
}

describe('decodePlan: op thresholds', () => {
  const start = [1, 0, 0];
  it.each([
    // [p(KEEP), p(DELETE), p(REPLACE)], thresholds, expected op, why
    [[0.4, 0.35, 0.25], { deleteThreshold: 0.3 }, DELETE, 'p(DELETE) >= t although KEEP is the argmax'],
    [[0.4, 0.35, 0.25], { deleteThreshold: 0.4 }, KEEP, 'p(DELETE) < t'],
    [[0.3, 0.3, 0.4], { replaceThreshold: 0.4 }, REPLACE, 'the threshold is inclusive'],
    [[0.3, 0.3, 0.4], { replaceThreshold: 0.41 }, KEEP, 'p(REPLACE) just below t'],
    [[0.2, 0.4, 0.4], {}, KEEP, 'at the 0.5 defaults an edit needs half the mass, whatever the argmax'],
    [[0.2, 0.4, 0.4], { deleteThreshold: 0.3, replaceThreshold: 0.3 }, REPLACE, 'both pass and tie: REPLACE'],
    [[0.1, 0.5, 0.4], { deleteThreshold: 0.3, replaceThreshold: 0.3 }, DELETE, 'both pass: the more probable'],
    [[0.1, 0.5, 0.4], { deleteThreshold: 0.3, replaceThreshold: 0.3, noDelete: true }, REPLACE, 'noDelete leaves REPLACE'],
    [[0.1, 0.5, 0.4], { deleteThreshold: 0, replaceThreshold: 0.45, noDelete: true }, KEEP, 'noDelete even at threshold 0'],
    [[0.05, 0.9, 0.05], {}, DELETE, 'a confident DELETE'],
    [[1, 0, 0], { deleteThreshold: 0, replaceThreshold: 0 }, KEEP, 'threshold 0 still needs p > 0'],
  ] as const)('%j with %j → %i (%s)', (row, thresholds, expected, _why) => {
    const plan = decodePlan(probs([start, [...row]]), { ...defaults, ...thresholds });
    expect(plan.op_labels).toEqual([KEEP, expected]);
    // The confidence is the probability of the op that was chosen.
    expect(plan.opConfidence[1]).toBe(row[expected]);
  });

  it('never deletes or replaces slot 0 (the sentence start), even when the planner says so', () => {
    const plan = decodePlan(probs([[0, 0.5, 0.5], [0, 0.5, 0.5], [0, 0.4, 0.6]]), { ...defaults, deleteThreshold: 0, replaceThreshold: 0 });
    expect(plan.op_labels).toEqual([KEEP, REPLACE, REPLACE]);
    expect(plan.opConfidence[0]).toBe(0);
    expect(() => buildTemplate(['a', 'b'], plan.op_labels, plan.insert_labels)).not.toThrow();
  });
});

describe('decodePlan: insertions', () => {
  const keep = [1, 0, 0];
  // p(0) = 0.4 is the largest single entry, but p(count >= 1) = 0.6.
  const unsure = [0.4, 0.1, 0.35, 0.15];

  it('inserts the argmax count over 1..K when p(count >= 1) >= insertThreshold', () => {
    const plan = decodePlan(probs([keep, keep], [NO_INSERT, unsure]), { ...defaults, insertThreshold: 0.6 });
    expect(plan.insert_labels).toEqual([0, 2]);
    expect(plan.insertConfidence[1]).toBe(0.35);
  });

  it('inserts nothing below the threshold, with confidence p(0)', () => {
    const plan = decodePlan(probs([keep, keep], [NO_INSERT, unsure]), { ...defaults, insertThreshold: 0.61 });
    expect(plan.insert_labels).toEqual([0, 0]);
    expect(plan.insertConfidence[1]).toBe(0.4);
  });

  it('can insert at the sentence start (slot 0)', () => {
    const plan = decodePlan(probs([keep, keep], [[0.1, 0.9, 0, 0], NO_INSERT]), defaults);
    expect(plan.insert_labels).toEqual([1, 0]);
  });

  it('noInsert turns every insertion off', () => {
    const plan = decodePlan(probs([keep, keep], [[0, 1, 0, 0], [0, 0, 0, 1]]), { ...defaults, noInsert: true, insertThreshold: 0 });
    expect(plan.insert_labels).toEqual([0, 0]);
  });

  describe('maxInsertsPerSentence keeps the most probable insertions', () => {
    // Slot 1: p(any) 0.9, count 2. Slot 2: p(any) 0.8, count 3 (1 if at most 2 fit). Slot 3: p(any) 0.7, count 1.
    const rows = [NO_INSERT, [0.1, 0.2, 0.5, 0.2], [0.2, 0.25, 0.15, 0.4], [0.3, 0.7, 0, 0]];
    const p = probs([keep, keep, keep, keep], rows);
    it.each([
      [Infinity, [0, 2, 3, 1]],
      [6, [0, 2, 3, 1]],
      [5, [0, 2, 3, 0]],
      [4, [0, 2, 1, 1]], // slot 2 gets the argmax over 1..2, leaving one for slot 3
      [3, [0, 2, 1, 0]],
      [2, [0, 2, 0, 0]],
      [1, [0, 1, 0, 0]],
      [0, [0, 0, 0, 0]],
    ])('cap %s → %j', (cap, expected) => {
      const plan = decodePlan(p, { ...defaults, maxInsertsPerSentence: cap });
      expect(plan.insert_labels).toEqual(expected);
    });
  });

  it('over seeded random probabilities: valid labels, slot 0 KEEP, cap respected, thresholds honoured', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 300; trial++) {
      const n = rng.int(8);
      const K = rng.int(4);
      const row = (width: number) => {
        const w = Array.from({ length: width }, () => rng.float() ** 3);
        const sum = w.reduce((a, b) => a + b, 0) || 1;
        return w.map((x) => x / sum);
      };
      const op = Array.from({ length: n + 1 }, () => row(3));
      const insert = Array.from({ length: n + 1 }, () => row(K + 1));
      const t = { ...defaults, deleteThreshold: rng.float(), replaceThreshold: rng.float(), insertThreshold: rng.float(), maxInsertsPerSentence: rng.int(5) };
      const plan = decodePlan(probs(op, insert), t);
      expect(plan.op_labels[0]).toBe(KEEP);
      expect(plan.insert_labels.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(t.maxInsertsPerSentence);
      plan.op_labels.forEach((label, s) => {
        if (label === DELETE) expect(op[s][DELETE]).toBeGreaterThanOrEqual(t.deleteThreshold);
        if (label === REPLACE) expect(op[s][REPLACE]).toBeGreaterThanOrEqual(t.replaceThreshold);
        if (label === KEEP && s > 0) {
          expect((op[s][DELETE] < t.deleteThreshold || op[s][DELETE] === 0) && (op[s][REPLACE] < t.replaceThreshold || op[s][REPLACE] === 0)).toBe(true);
        }
      });
      plan.insert_labels.forEach((count, s) => {
        expect(count).toBeLessThanOrEqual(K);
        if (count > 0) expect(1 - insert[s][0]).toBeGreaterThanOrEqual(t.insertThreshold - 1e-12);
      });
    }
  });
});

describe('decodePlan: inputs', () => {
  const p = probs([[1, 0, 0], [1, 0, 0]]);
  it.each([
    [{ deleteThreshold: 2 }, 'decodePlan: deleteThreshold must be in [0, 1], got 2'],
    [{ insertThreshold: NaN }, 'decodePlan: insertThreshold must be in [0, 1], got NaN'],
    [{ maxInsertsPerSentence: -1 }, 'decodePlan: maxInsertsPerSentence must be an integer >= 0 or Infinity, got -1'],
    [{ noInsert: undefined }, 'decodePlan: noInsert must be a boolean, got undefined'],
  ])('rejects thresholds %j', (override, message) => {
    expect(() => decodePlan(p, { ...defaults, ...override } as PlanThresholds)).toThrow(message);
  });

  it('rejects probabilities whose lengths do not match tokens and K', () => {
    expect(() => decodePlan({ ...p, tokens: 2 }, defaults)).toThrow(
      'decodePlan: probs for 2 tokens and K=3 need op length 9 and insert length 12, got 6 and 8',
    );
  });
});

describe('plannerProbabilities', () => {
  it('reads K from the insert row width and returns softmax probabilities', () => {
    const p = plannerProbabilities([0, 0, 0, 0, Math.log(2), Math.log(1)], [0, 0, 0, 0], 1);
    expect(p.maxInsertK).toBe(1);
    expect(p.tokens).toBe(1);
    expect(Array.from(p.op.subarray(3))).toEqual([0.25, 0.5, 0.25].map((x) => expect.closeTo(x, 12)));
    expect(Array.from(p.insert)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it.each([
    [[0, 0, 0], [0, 0], 1, 'plannerProbabilities: opLogits must have length (tokens+1)×3 = 6, got 3'],
    [[0, 0, 0, 0, 0, 0], [0, 0, 0], 1, 'plannerProbabilities: insertLogits must have length (tokens+1)×(K+1) = 2×(K+1), got 3'],
    [[0, 0, 0, 0, 0, 0], [], 1, 'plannerProbabilities: insertLogits must have length (tokens+1)×(K+1) = 2×(K+1), got 0'],
    [[0, 0, 0], [0], -1, 'plannerProbabilities: tokens must be an integer >= 0, got -1'],
    [[0, NaN, 0], [0], 0, 'plannerProbabilities: opLogits[1] (row 0, column 1) must be finite or -Infinity, got NaN'],
  ])('rejects op %j, insert %j, tokens %i', (op, insert, tokens, message) => {
    expect(() => plannerProbabilities(op, insert, tokens)).toThrow(message);
  });
});
