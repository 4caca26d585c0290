import { prfFromCounts, type PRFCounts } from './fbeta';

/** Detection and correction scores at one level (sentence or character). */
export interface CscLevel {
  detection: PRFCounts;
  correction: PRFCounts;
}

/**
 * CSC metrics in the shape printed by `gap-relm eval --json` (snake_case keys are part of that
 * JSON format).
 */
export interface CscMetrics {
  sentence: CscLevel;
  char: CscLevel;
  /** Error-free gold sentences (source == target) that the prediction changed, over all error-free sentences. */
  fpr: number;
  /** Sentences scored (input sentences minus `gold_length_mismatch`). */
  sentences: number;
  /** Scored sentences whose prediction has a different length (in code points) from its source. */
  length_mismatch: number;
  /** Gold pairs whose source and target differ in length; they are skipped entirely. */
  gold_length_mismatch: number;
}

/**
 * Spelling-correction metrics as in SpellGCN / ReLM evaluation.
 *
 * Per sentence, over code points: gold edits = {i: target[i] | source[i] != target[i]},
 * predicted edits = {i: pred[i] | source[i] != pred[i]}.
 *
 * - Sentence detection TP: predicted edits non-empty and their positions equal the gold positions.
 * - Sentence correction TP: predicted edits non-empty and equal to the gold edits (positions and chars).
 * - Precision is over sentences with predicted edits, recall over sentences with gold edits.
 * - Char level: TP positions over predicted edit positions (precision) and over gold edit positions
 *   (recall); correction additionally needs pred[i] == target[i].
 *
 * Length rules (SIGHAN CSC assumes equal lengths):
 * - A gold pair with |source| != |target| is skipped and counted in `gold_length_mismatch`.
 * - A prediction with |pred| != |source| counts as a sentence with predicted edits that is never a
 *   TP (and as a false alarm if the gold sentence is error-free). Its positions cannot be compared,
 *   so at char level it proposes no positions and all its gold positions count as missed.
 *
 * Every ratio with a zero denominator is 0.
 */
export function cscMetrics(sources: readonly string[], targets: readonly string[], preds: readonly string[]): CscMetrics {
  if (targets.length !== sources.length) {
    throw new RangeError(`cscMetrics: targets has ${targets.length} entries but sources has ${sources.length}`);
  }
  if (preds.length !== sources.length) {
    throw new RangeError(`cscMetrics: preds has ${preds.length} entries but sources has ${sources.length}`);
  }

  let sentences = 0;
  let goldLengthMismatch = 0;
  let lengthMismatch = 0;
  // Sentence level.
  let goldSents = 0;
  let predSents = 0;
  let detSentTp = 0;
  let corSentTp = 0;
  // Char level.
  let goldPositions = 0;
  let predPositions = 0;
  let detCharTp = 0;
  let corCharTp = 0;
  // False-positive rate.
  let errorFree = 0;
  let falseAlarms = 0;

  for (let n = 0; n < sources.length; n++) {
    const src = Array.from(sources[n]);
    const tgt = Array.from(targets[n]);
    const pred = Array.from(preds[n]);
    if (src.length !== tgt.length) {
      goldLengthMismatch++;
      continue;
    }
    sentences++;

    const gold: number[] = [];
    for (let i = 0; i < src.length; i++) if (src[i] !== tgt[i]) gold.push(i);
    goldPositions += gold.length;
    if (gold.length > 0) goldSents++;
    else errorFree++;

    if (pred.length !== src.length) {
      lengthMismatch++;
      predSents++;
      if (gold.length === 0) falseAlarms++;
      continue;
    }

    const predicted: number[] = [];
    for (let i = 0; i < src.length; i++) if (src[i] !== pred[i]) predicted.push(i);
    if (predicted.length === 0) continue;
    predSents++;
    predPositions += predicted.length;
    if (gold.length === 0) falseAlarms++;

    // Both position lists are ascending, so set equality is element-wise equality.
    const goldSet = new Set(gold);
    let samePositions = predicted.length === gold.length;
    let sameEdits = samePositions;
    for (let k = 0; k < predicted.length; k++) {
      const i = predicted[k];
      if (samePositions && gold[k] !== i) {
        samePositions = false;
        sameEdits = false;
      }
      if (goldSet.has(i)) {
        detCharTp++;
        if (pred[i] === tgt[i]) corCharTp++;
        else sameEdits = false;
      }
    }
    if (samePositions) detSentTp++;
    if (sameEdits) corSentTp++;
  }

  return {
    sentence: {
      detection: prfFromCounts(detSentTp, predSents - detSentTp, goldSents - detSentTp),
      correction: prfFromCounts(corSentTp, predSents - corSentTp, goldSents - corSentTp),
    },
    char: {
      detection: prfFromCounts(detCharTp, predPositions - detCharTp, goldPositions - detCharTp),
      correction: prfFromCounts(corCharTp, predPositions - corCharTp, goldPositions - corCharTp),
    },
    fpr: errorFree === 0 ? 0 : falseAlarms / errorFree,
    sentences,
    length_mismatch: lengthMismatch,
    gold_length_mismatch: goldLengthMismatch,
  };
}
