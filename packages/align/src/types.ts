/** Planner operation on one source slot. Values are the label ids written to JSONL. */
export const PlannerOp = {
  KEEP: 0,
  DELETE: 1,
  /** The token is replaced by one `[MASK]` in the template. */
  REPLACE: 2,
} as const;
export type PlannerOp = (typeof PlannerOp)[keyof typeof PlannerOp];

export const MASK_TOKEN = '[MASK]';

/** Default cap on `[MASK]` slots inserted after one slot (the seed's `max_insert_k`). */
export const DEFAULT_MAX_INSERT_K = 3;

/**
 * One training example in the precomputed JSONL format (field names are the file format).
 * `op_labels` and `insert_labels` have length `tokens(source) + 1`: index 0 is the
 * sentence-start slot (always KEEP) so an insertion before the first token is representable.
 */
export interface PrecomputedExample {
  source: string;
  target: string;
  op_labels: PlannerOp[];
  insert_labels: number[];
  template_tokens: string[];
  gold_tokens: string[];
  mask_positions: number[];
}

/** One step of an alignment from source tokens to target tokens, in order. */
export type AlignStep =
  | { op: 'keep'; source: number; target: number }
  | { op: 'replace'; source: number; target: number }
  | { op: 'delete'; source: number }
  | { op: 'insert'; target: number };

/** Labelling either yields an example or says why the pair cannot be represented. */
export type LabelResult =
  | { ok: true; example: PrecomputedExample; /** DELETE + REPLACE + inserted masks */ edits: number }
  | { ok: false; reason: string };
