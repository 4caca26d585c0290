/** One edit line of an M2 file: `A start end|||type|||correction|||REQUIRED|||-NONE-|||annotator`. */
export interface M2Edit {
  /** Token span [start, end) in the source; -1 -1 for `noop` / `NA` lines. */
  start: number;
  end: number;
  /** Error type as written (`S`, `M`, `R`, `W`, `noop`, `NA`, `UNK`, …). */
  type: string;
  /** Replacement text with the token spaces removed (as ChERRANT compares it); '' for `-NONE-`. */
  correction: string;
  annotator: number;
}

/** One sentence block of an M2 file. */
export interface M2Sentence {
  /** Source tokens from the `S` line. */
  source: string[];
  edits: M2Edit[];
}

/** M2 marker for "no text": the correction of a deletion and of noop / NA lines. */
export const M2_NONE = '-NONE-';

/**
 * Parses M2 text (as written by ERRANT / ChERRANT): blocks separated by blank lines, each an `S`
 * line and `A` lines. ChERRANT's `T…` target lines and anything else are ignored.
 * `file` only labels error messages.
 */
export function parseM2(text: string, file = '<m2>'): M2Sentence[] {
  const sentences: M2Sentence[] = [];
  let current: M2Sentence | undefined;
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n];
    if (line.trim() === '') {
      current = undefined;
      continue;
    }
    if (line.startsWith('S ') || line === 'S') {
      current = { source: line.slice(2).split(' ').filter((t) => t !== ''), edits: [] };
      sentences.push(current);
    } else if (line.startsWith('A ')) {
      if (!current) throw new SyntaxError(`parseM2: ${file}:${n + 1}: edit line before any S line`);
      current.edits.push(parseEdit(line, file, n + 1));
    }
  }
  return sentences;
}

function parseEdit(line: string, file: string, lineNo: number): M2Edit {
  const fields = line.slice(2).split('|||');
  if (fields.length < 3) {
    throw new SyntaxError(`parseM2: ${file}:${lineNo}: an edit needs 'start end|||type|||correction|||…|||annotator', got ${JSON.stringify(line)}`);
  }
  const span = fields[0].trim().split(/\s+/);
  const start = Number(span[0]);
  const end = Number(span[1]);
  if (span.length !== 2 || !Number.isInteger(start) || !Number.isInteger(end) || end < start) {
    throw new SyntaxError(`parseM2: ${file}:${lineNo}: span must be two integers 'start end' with start <= end, got ${JSON.stringify(fields[0])}`);
  }
  // ChERRANT takes the annotator from the last field; files without it have one annotator.
  const annotator = fields.length >= 4 ? Number(fields[fields.length - 1]) : 0;
  if (!Number.isInteger(annotator) || annotator < 0) {
    throw new SyntaxError(`parseM2: ${file}:${lineNo}: annotator id must be a non-negative integer, got ${JSON.stringify(fields[fields.length - 1])}`);
  }
  // ChERRANT compares corrections with the token spaces removed: "虽 然 它" -> "虽然它".
  const correction = fields[2].replaceAll(' ', '');
  return { start, end, type: fields[1], correction: correction === M2_NONE ? '' : correction, annotator };
}
