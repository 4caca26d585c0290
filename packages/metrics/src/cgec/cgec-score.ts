import { splitPythonWhitespace } from '../python-strings';
import { extractCharEdits } from './char-edits';
import { compareM2, type CgecScore, type CompareM2Options } from './compare-m2';
import type { M2Edit, M2Sentence } from './m2';

/** MuCGEC reference meaning "this sentence is correct" (ChERRANT writes a noop edit). */
export const CGEC_NO_ERROR = '没有错误';
/** MuCGEC reference meaning "annotators could not correct this sentence" (ChERRANT writes NA). */
export const CGEC_UNANNOTATABLE = '无法标注';

/** ChERRANT's parallel_to_m2 removes all whitespace before splitting into chars. */
const squeeze = (s: string): string => splitPythonWhitespace(s).join('');

function annotatorEdits(source: string, corrected: string, annotator: number): M2Edit[] {
  if (corrected === CGEC_NO_ERROR || corrected === source) {
    return [{ start: -1, end: -1, type: 'noop', correction: '', annotator }];
  }
  if (corrected === CGEC_UNANNOTATABLE) return [{ start: -1, end: -1, type: 'NA', correction: '', annotator }];
  const edits = extractCharEdits(source, corrected);
  return edits.map((e) => ({ start: e.start, end: e.end, type: e.type, correction: e.correction, annotator }));
}

/**
 * ChERRANT-style char-level span-based correction scores from parallel text: edits are extracted
 * with {@link extractCharEdits} for the hypothesis and each reference (after removing whitespace,
 * as ChERRANT does), then scored with {@link compareM2}, which picks the best reference per
 * sentence. `references[i]` lists the references of sentence i; `没有错误` means "no change" and
 * `无法标注` "not annotatable" (a sentence whose only reference is that is skipped).
 *
 * ChERRANT also converts references to simplified Chinese with OpenCC; this does not.
 */
export function cgecScore(
  sources: readonly string[],
  hypotheses: readonly string[],
  references: readonly (readonly string[])[],
  options: CompareM2Options = {},
): CgecScore {
  if (hypotheses.length !== sources.length) {
    throw new RangeError(`cgecScore: hypotheses has ${hypotheses.length} entries but sources has ${sources.length}`);
  }
  if (references.length !== sources.length) {
    throw new RangeError(`cgecScore: references has ${references.length} entries but sources has ${sources.length}`);
  }
  const hyp: M2Sentence[] = [];
  const ref: M2Sentence[] = [];
  for (let i = 0; i < sources.length; i++) {
    if (references[i].length === 0) {
      throw new RangeError(`cgecScore: references[${i}] is empty; every sentence needs at least one reference`);
    }
    const source = squeeze(sources[i]);
    const tokens = Array.from(source);
    hyp.push({ source: tokens, edits: annotatorEdits(source, squeeze(hypotheses[i]), 0) });
    ref.push({ source: tokens, edits: references[i].flatMap((r, k) => annotatorEdits(source, squeeze(r), k)) });
  }
  return compareM2(hyp, ref, options);
}
