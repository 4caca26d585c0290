import { readLines, type SkipCounter } from '@proj/core';

/** A line of an input file: the text to correct and, when the file has one, its gold correction. */
export interface PairLine {
  line: number;
  source: string;
  target?: string;
}

/**
 * Reads sentences or gold pairs, one per line, in any of the forms the toolkit writes or reads:
 * plain text (`source`), `source<TAB>target`, SIGHAN/ECSpell `n_errors<TAB>source<TAB>target`, or
 * JSONL with string fields `source` (and `target`), e.g. the precomputed format. A line that fits
 * none of them gives `null` (so line-aligned files stay in step) and is counted in `skips`.
 */
export async function readPairLines(file: string, skips: SkipCounter): Promise<(PairLine | null)[]> {
  const out: (PairLine | null)[] = [];
  for await (const { line, text } of readLines(file)) {
    if (text === '') continue;
    if (text.startsWith('{')) {
      try {
        const record = JSON.parse(text) as { source?: unknown; target?: unknown };
        if (typeof record.source === 'string' && (record.target === undefined || typeof record.target === 'string')) {
          out.push({ line, source: record.source, target: record.target as string | undefined });
          continue;
        }
      } catch {
        // Not JSON after all: fall through to the tab-separated forms.
      }
    }
    const cols = text.split('\t');
    if (cols.length === 3 && /^\d+$/.test(cols[0])) cols.shift();
    if (cols.length === 1) out.push({ line, source: cols[0] });
    else if (cols.length === 2) out.push({ line, source: cols[0], target: cols[1] });
    else {
      skips.add('bad_line', `${file}:${line}: expected text, source<TAB>target, n<TAB>source<TAB>target or JSONL, got ${cols.length} columns`);
      out.push(null);
    }
  }
  return out;
}
