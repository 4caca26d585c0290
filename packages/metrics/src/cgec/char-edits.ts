import { alignTokens, tokenize } from '@proj/align';

/** A span edit over source code points: replace source[start, end) with `correction`. */
export interface SpanEdit {
  start: number;
  end: number;
  /** Replacement text; '' for a deletion. */
  correction: string;
  /** ChERRANT operation letter: M (missing: pure insertion), R (redundant: pure deletion), S (anything else). */
  type: 'M' | 'R' | 'S';
}

/**
 * Char-level span edits turning `source` into `target`, from the minimal Levenshtein alignment of
 * their code points (`alignTokens` from @proj/align).
 *
 * Merging rule: a maximal run of consecutive non-keep steps (replace, insert, delete in any mix)
 * becomes one edit covering the source chars it consumes and producing the target chars it
 * emits. So 我门去 -> 我们去 is one edit (1, 2, 们), and 冬阴功 -> 阴功冬 is two edits (delete 冬,
 * insert 冬), never a word-order (W) edit.
 *
 * This approximates ChERRANT's `parallel_to_m2.py`, whose alignment adds linguistic costs (cilin
 * synonyms, confusion sets, pinyin) and whose merger splits and joins spans differently; for exact
 * ChERRANT numbers, score ChERRANT's own M2 files with `compareM2`.
 */
export function extractCharEdits(source: string, target: string): SpanEdit[] {
  const steps = alignTokens(tokenize(source), tokenize(target));
  const targetChars = tokenize(target);
  const edits: SpanEdit[] = [];
  let sourcePos = 0; // source chars consumed so far
  let run: { start: number; end: number; correction: string } | undefined;
  const close = () => {
    if (!run) return;
    const type = run.start === run.end ? 'M' : run.correction === '' ? 'R' : 'S';
    edits.push({ ...run, type });
    run = undefined;
  };
  for (const step of steps) {
    if (step.op === 'keep') {
      close();
      sourcePos++;
      continue;
    }
    run ??= { start: sourcePos, end: sourcePos, correction: '' };
    if (step.op !== 'insert') run.end = ++sourcePos;
    if (step.op !== 'delete') run.correction += targetChars[step.target];
  }
  close();
  return edits;
}
