import { PlannerOp } from '@proj/align';
import { softmaxRows } from '../softmax';
import { checkBoolean, checkCount, checkUnit } from '../config-checks';
import type { GapRelmDecodeConfig } from './config';

/** Number of planner ops (KEEP, DELETE, REPLACE): the width of an `opLogits` row. */
export const PLANNER_OPS = 3;

/** Planner probabilities of one sentence: the softmax of its logits, kept so decisions can be re-made cheaply (tuning). */
export interface PlannerProbabilities {
  /** Source tokens n; there are n + 1 slots. */
  tokens: number;
  /** K: the largest insertion count the planner scores. */
  maxInsertK: number;
  /** `(n + 1) × 3` row-major: p(KEEP), p(DELETE), p(REPLACE) per slot. */
  op: Float64Array;
  /** `(n + 1) × (K + 1)` row-major: p(exactly c inserted masks) per slot. */
  insert: Float64Array;
}

/** The thresholds, caps and ablations that turn probabilities into labels. */
export type PlanThresholds = Pick<
  GapRelmDecodeConfig,
  'deleteThreshold' | 'replaceThreshold' | 'insertThreshold' | 'maxInsertsPerSentence' | 'noInsert' | 'noDelete'
>;

/** Planner labels in the `@proj/align` format, plus how sure the planner was of each decision. */
export interface SentencePlan {
  /** Length n + 1; slot 0 (sentence start) is always KEEP. */
  op_labels: PlannerOp[];
  /** Length n + 1; masks inserted after each slot. */
  insert_labels: number[];
  /** p(chosen op) per slot (for a KEEP made because no edit passed its threshold, this is p(KEEP), possibly < 0.5). */
  opConfidence: Float64Array;
  /** p(exactly `insert_labels[slot]` masks) per slot. */
  insertConfidence: Float64Array;
}

/**
 * Softmax over one sentence's planner logits, after checking their shapes: `opLogits` must be
 * `(tokens + 1) × 3` and `insertLogits` `(tokens + 1) × (K + 1)` for some K >= 0.
 */
export function plannerProbabilities(
  opLogits: ArrayLike<number>,
  insertLogits: ArrayLike<number>,
  tokens: number,
  fn = 'plannerProbabilities',
): PlannerProbabilities {
  if (!Number.isInteger(tokens) || tokens < 0) throw new RangeError(`${fn}: tokens must be an integer >= 0, got ${tokens}`);
  const slots = tokens + 1;
  if (opLogits.length !== slots * PLANNER_OPS) {
    throw new RangeError(`${fn}: opLogits must have length (tokens+1)×3 = ${slots * PLANNER_OPS}, got ${opLogits.length}`);
  }
  if (insertLogits.length === 0 || insertLogits.length % slots !== 0) {
    throw new RangeError(`${fn}: insertLogits must have length (tokens+1)×(K+1) = ${slots}×(K+1), got ${insertLogits.length}`);
  }
  const width = insertLogits.length / slots;
  return {
    tokens,
    maxInsertK: width - 1,
    op: softmaxRows(opLogits, PLANNER_OPS, fn, 'opLogits'),
    insert: softmaxRows(insertLogits, width, fn, 'insertLogits'),
  };
}

/** Validates the plan-decision part of a decode config; `fn` names the caller in errors. */
export function checkPlanThresholds(fn: string, t: PlanThresholds): void {
  checkUnit(fn, 'deleteThreshold', t.deleteThreshold);
  checkUnit(fn, 'replaceThreshold', t.replaceThreshold);
  checkUnit(fn, 'insertThreshold', t.insertThreshold);
  checkCount(fn, 'maxInsertsPerSentence', t.maxInsertsPerSentence, 0, true);
  checkBoolean(fn, 'noInsert', t.noInsert);
  checkBoolean(fn, 'noDelete', t.noDelete);
}

/**
 * Turns planner probabilities into labels:
 *
 * 1. Slot 0 (sentence start) is KEEP: there is no token to delete or replace.
 * 2. Slot i > 0: DELETE is a candidate if p(DELETE) >= deleteThreshold (and not `noDelete`),
 *    REPLACE if p(REPLACE) >= replaceThreshold; both also need p > 0. The more probable
 *    candidate wins (REPLACE on a tie, since the infiller can still restore the source char); no
 *    candidate means KEEP.
 * 3. Insertions: a slot inserts if p(count >= 1) >= insertThreshold and > 0, and not `noInsert`.
 * 4. Cap: inserting slots are served in order of p(count >= 1), most probable first (earlier slot
 *    on ties), each taking the argmax count over 1..min(K, budget left), until
 *    `maxInsertsPerSentence` masks are used; the rest insert nothing.
 *
 * Thresholds (not argmax) decide every edit, so each edit kind has one knob that trades
 * precision for recall; `tuneThresholds` sweeps them.
 */
export function decodePlan(probs: PlannerProbabilities, thresholds: PlanThresholds): SentencePlan {
  const fn = 'decodePlan';
  checkPlanThresholds(fn, thresholds);
  const { tokens, maxInsertK: K, op, insert } = probs;
  const slots = tokens + 1;
  const width = K + 1;
  if (op.length !== slots * PLANNER_OPS || insert.length !== slots * width) {
    throw new RangeError(`${fn}: probs for ${tokens} tokens and K=${K} need op length ${slots * PLANNER_OPS} and insert length ${slots * width}, got ${op.length} and ${insert.length}`);
  }
  const op_labels: PlannerOp[] = new Array<PlannerOp>(slots).fill(PlannerOp.KEEP);
  const insert_labels: number[] = new Array<number>(slots).fill(0);
  const opConfidence = new Float64Array(slots);
  const insertConfidence = new Float64Array(slots);

  for (let slot = 0; slot < slots; slot++) {
    const pKeep = op[slot * PLANNER_OPS + PlannerOp.KEEP];
    const pDelete = op[slot * PLANNER_OPS + PlannerOp.DELETE];
    const pReplace = op[slot * PLANNER_OPS + PlannerOp.REPLACE];
    // p > 0 too: a threshold of 0 means "any chance", not "even where the model says impossible".
    const deleteOk = slot > 0 && !thresholds.noDelete && pDelete >= thresholds.deleteThreshold && pDelete > 0;
    const replaceOk = slot > 0 && pReplace >= thresholds.replaceThreshold && pReplace > 0;
    if (replaceOk && (!deleteOk || pReplace >= pDelete)) {
      op_labels[slot] = PlannerOp.REPLACE;
      opConfidence[slot] = pReplace;
    } else if (deleteOk) {
      op_labels[slot] = PlannerOp.DELETE;
      opConfidence[slot] = pDelete;
    } else {
      opConfidence[slot] = pKeep;
    }
    insertConfidence[slot] = insert[slot * width];
  }

  if (thresholds.noInsert || K === 0 || thresholds.maxInsertsPerSentence === 0) {
    return { op_labels, insert_labels, opConfidence, insertConfidence };
  }
  // p(count >= 1) summed over 1..K rather than 1 - p(0), which loses precision when p(0) ≈ 1.
  const candidates: { slot: number; pAny: number }[] = [];
  for (let slot = 0; slot < slots; slot++) {
    let pAny = 0;
    for (let c = 1; c <= K; c++) pAny += insert[slot * width + c];
    if (pAny >= thresholds.insertThreshold && pAny > 0) candidates.push({ slot, pAny });
  }
  candidates.sort((a, b) => b.pAny - a.pAny || a.slot - b.slot);
  let budget = thresholds.maxInsertsPerSentence;
  for (const { slot } of candidates) {
    if (budget <= 0) break;
    const most = Math.min(K, budget);
    let count = 1;
    for (let c = 2; c <= most; c++) if (insert[slot * width + c] > insert[slot * width + count]) count = c;
    insert_labels[slot] = count;
    insertConfidence[slot] = insert[slot * width + count];
    budget -= count;
  }
  return { op_labels, insert_labels, opConfidence, insertConfidence };
}
