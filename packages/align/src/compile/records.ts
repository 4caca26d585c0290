/** Dataset formats `compile` reads. */
export const COMPILE_FORMATS = ['sighan-tsv', 'sighan-official', 'sighan-sgml', 'mucgec', 'tsv'] as const;
export type CompileFormat = (typeof COMPILE_FORMATS)[number];

/** How a source with several references (MuCGEC) becomes records. */
export type MultiTargetPolicy =
  /** One record per distinct reference (default). */
  | 'all'
  /** One record: the reference closest to the source by token Levenshtein (first on ties). */
  | 'closest';

/**
 * One input record as a format reader sees it, in input order. `line` is 1-based and points at
 * the record's first line. A reader never throws on bad data: it yields `skip` for a line it
 * cannot parse and `reject` for a record that parses but contradicts itself.
 */
export type SourceItem =
  | { kind: 'pair'; file: string; line: number; source: string; targets: string[] }
  | { kind: 'reject'; file: string; line: number; reason: string }
  | { kind: 'skip'; file: string; line: number; message: string };

/** A reader's items that still need a worker (skips are counted on the main thread). */
export type LabelItem = Exclude<SourceItem, { kind: 'skip' }>;

export function skipItem(file: string, line: number, message: string): SourceItem {
  return { kind: 'skip', file, line, message };
}

/** Reason codes for rejects found while reading (labelling adds its own, see RejectCode). */
export const ReadRejectCode = {
  /** A SIGHAN truth position is not a character of the sentence. */
  TRUTH_POSITION_OUT_OF_RANGE: 'truth_position_out_of_range',
  /** A SIGHAN truth edit names a wrong character that is not in the sentence there. */
  TRUTH_MISMATCH: 'truth_mismatch',
  /** Two truth edits touch the same character. */
  TRUTH_DUPLICATE_POSITION: 'truth_duplicate_position',
  /** ECSpell `n_errors` differs from the number of differing characters. */
  N_ERRORS_MISMATCH: 'n_errors_mismatch',
  /** MuCGEC marks every reference of the sentence 无法标注 (could not be annotated). */
  UNANNOTATABLE: 'unannotatable',
} as const;

/** Code points of a string, for 1-based SIGHAN positions. */
export function codePoints(text: string): string[] {
  return Array.from(text);
}
