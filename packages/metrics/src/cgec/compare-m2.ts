import type { PRFCounts } from '../fbeta';
import type { M2Edit, M2Sentence } from './m2';
import { pythonRound } from './python-round';

/** Span-based correction scores following ChERRANT's `compare_m2_for_evaluation.py`. */
export interface CgecScore extends PRFCounts {
  /** Sentences compared. */
  sentences: number;
  /** Sentences skipped because their only reference is `NA` (MuCGEC's 无法标注). */
  skipped: number;
  /** For each sentence, the reference annotator chosen (-1 when skipped). */
  chosen: number[];
}

export interface CompareM2Options {
  /** Beta of the F-score used to pick the reference per sentence (ChERRANT default 0.5). */
  beta?: number;
}

/** Edits of one annotator keyed by (start, end, correction); the value lists the edit types. */
type EditDict = Map<string, string[]>;

/**
 * One dict per annotator, in order of first appearance, as ChERRANT's `process_edits` does for
 * span-based correction: a sentence without any edit lines gets an explicit noop for annotator 0,
 * and `UNK` edits are dropped (they only make sense for detection) though their annotator stays.
 */
function editDicts(edits: readonly M2Edit[]): Map<number, EditDict> {
  const list: M2Edit[] = edits.length > 0 ? [...edits] : [{ start: -1, end: -1, type: 'noop', correction: '', annotator: 0 }];
  const dicts = new Map<number, EditDict>();
  for (const e of list) {
    let dict = dicts.get(e.annotator);
    if (!dict) dicts.set(e.annotator, (dict = new Map()));
    if (e.type === 'UNK') continue;
    const key = `${e.start}\u0000${e.end}\u0000${e.correction}`;
    const types = dict.get(key);
    if (types) types.push(e.type);
    else dict.set(key, [e.type]);
  }
  return dicts;
}

/**
 * TP/FP/FN of one hypothesis annotator against one reference annotator. As in ChERRANT: noop
 * entries are never TP/FP/FN, but a hypothesis noop key still "covers" a reference key equal to
 * it (so a reference NA at -1 -1 is not a miss when the hypothesis has no edits); a repeated span
 * counts once per listed type.
 */
function compareDicts(hyp: EditDict, ref: EditDict): [tp: number, fp: number, fn: number] {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const [key, types] of hyp) {
    if (types[0] === 'noop') continue;
    const refTypes = ref.get(key);
    if (refTypes) tp += refTypes.length;
    else fp += types.length;
  }
  for (const [key, types] of ref) {
    if (types[0] === 'noop') continue;
    if (!hyp.has(key)) fn += types.length;
  }
  return [tp, fp, fn];
}

/**
 * ChERRANT's `computeFScore`: P is 1 when there are no false positives and R is 1 when there are
 * no false negatives (even with tp = 0), unlike `prfFromCounts`. Unrounded; ChERRANT prints
 * these rounded to 4 decimals.
 */
export function cherrantPRF(tp: number, fp: number, fn: number): PRFCounts {
  const precision = fp ? tp / (tp + fp) : 1;
  const recall = fn ? tp / (tp + fn) : 1;
  const f = (beta: number) => (precision + recall ? ((1 + beta * beta) * precision * recall) / (beta * beta * precision + recall) : 0);
  return { tp, fp, fn, precision, recall, f1: f(1), f05: f(0.5), f2: f(2) };
}

function roundedF(tp: number, fp: number, fn: number, beta: number): number {
  const p = fp ? tp / (tp + fp) : 1;
  const r = fn ? tp / (tp + fn) : 1;
  return pythonRound(p + r ? ((1 + beta * beta) * p * r) / (beta * beta * p + r) : 0, 4);
}

/**
 * Corpus span-based correction P/R/F0.5 of hypothesis M2 against reference M2, reproducing
 * ChERRANT's `compare_m2_for_evaluation.py` (default `-cs` mode):
 *
 * 1. Edits are compared as exact (start, end, correction) triples.
 * 2. Per sentence, every hypothesis annotator is tried against every reference annotator, and the
 *    pair kept is the one that maximises the F-score of the *corpus so far plus this sentence*,
 *    rounded to 4 decimals; ties go to more TP, then fewer FP, then fewer FN, then the first pair
 *    tried (annotators in order of first appearance). So the choice depends on earlier sentences.
 * 3. A sentence whose reference is a single annotator with a single `NA` edit is skipped.
 *
 * Sentences are paired by position; their source lines are not compared (ChERRANT does not
 * either, and its demo files differ in one full-width colon).
 */
export function compareM2(hyp: readonly M2Sentence[], ref: readonly M2Sentence[], options: CompareM2Options = {}): CgecScore {
  const beta = options.beta ?? 0.5;
  if (!Number.isFinite(beta) || beta <= 0) throw new RangeError(`compareM2: options.beta must be a finite number > 0, got ${beta}`);
  if (hyp.length !== ref.length) {
    throw new RangeError(`compareM2: hyp has ${hyp.length} sentences but ref has ${ref.length}`);
  }
  let total: [number, number, number] = [0, 0, 0];
  let skipped = 0;
  const chosen: number[] = [];
  for (let s = 0; s < hyp.length; s++) {
    const hypDicts = editDicts(hyp[s].edits);
    const refDicts = editDicts(ref[s].edits);
    if (refDicts.size === 1) {
      const only = [...refDicts.values()][0];
      if (only.size === 1 && [...only.values()][0][0] === 'NA') {
        skipped++;
        chosen.push(-1);
        continue;
      }
    }
    let best: [number, number, number] = [0, 0, 0];
    let bestF = -1;
    let bestRef = -1;
    for (const h of hypDicts.values()) {
      for (const [refId, r] of refDicts) {
        const [tp, fp, fn] = compareDicts(h, r);
        const f = roundedF(tp + total[0], fp + total[1], fn + total[2], beta);
        const better =
          f > bestF ||
          (f === bestF && tp > best[0]) ||
          (f === bestF && tp === best[0] && fp < best[1]) ||
          (f === bestF && tp === best[0] && fp === best[1] && fn < best[2]);
        if (better) {
          best = [tp, fp, fn];
          bestF = f;
          bestRef = refId;
        }
      }
    }
    total = [total[0] + best[0], total[1] + best[1], total[2] + best[2]];
    chosen.push(bestRef);
  }
  return { ...cherrantPRF(...total), sentences: hyp.length, skipped, chosen };
}
