import { type InputReport, inputLines } from './input-lines';

/** A line of an input file: the text to correct and, when the file has one, its gold correction. */
export interface PairLine {
  line: number;
  source: string;
  target?: string;
}

/**
 * One line in any of the forms the toolkit writes or reads: plain text (`source`),
 * `source<TAB>target`, SIGHAN/ECSpell `n_errors<TAB>source<TAB>target`, or JSONL with string
 * fields `source` (and `target`), e.g. the precomputed format. `null` when it fits none of them.
 */
export function parsePairLine(text: string): { source: string; target?: string } | null {
  if (text.startsWith('{')) {
    try {
      const record = JSON.parse(text) as { source?: unknown; target?: unknown };
      if (typeof record.source === 'string' && (record.target === undefined || typeof record.target === 'string')) {
        return { source: record.source, target: record.target as string | undefined };
      }
    } catch {
      // Not JSON after all: fall through to the tab-separated forms.
    }
  }
  const cols = text.split('\t');
  if (cols.length === 3 && /^\d+$/.test(cols[0])) cols.shift();
  if (cols.length === 1) return { source: cols[0] };
  if (cols.length === 2) return { source: cols[0], target: cols[1] };
  return null;
}

/** What a line that fits no form is counted as, with file:line. */
export function badPairLine(file: string, line: number, text: string): string {
  return `${file}:${line}: expected text, source<TAB>target, n<TAB>source<TAB>target or JSONL, got ${text.split('\t').length} columns`;
}

/**
 * Reads sentences or gold pairs, one per line (see parsePairLine); blank lines are skipped. A line
 * that fits no form, or is over the line limit, gives `null` (so line-aligned files stay in step)
 * and is counted in `report.skips`.
 */
export async function readPairLines(file: string, report: InputReport): Promise<(PairLine | null)[]> {
  const out: (PairLine | null)[] = [];
  for await (const { line, text, tooLongBytes } of inputLines(file, report)) {
    if (tooLongBytes !== undefined) {
      out.push(null);
      continue;
    }
    if (text === '') continue;
    const pair = parsePairLine(text);
    if (pair === null) report.skips.add('bad_line', badPairLine(file, line, text));
    out.push(pair === null ? null : { line, ...pair });
  }
  return out;
}
