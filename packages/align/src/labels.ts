import { alignTokens } from './align-tokens';
import { buildTemplate } from './template';
import { detokenize, tokenize } from './tokenize';
import { DEFAULT_MAX_INSERT_K, MASK_TOKEN, PlannerOp, type AlignStep, type LabelResult } from './types';

export interface LabelOptions {
  /** Most `[MASK]`s inserted after one slot; a longer insertion run rejects the pair. */
  maxInsertK?: number;
  /** The example's `source` field; defaults to `detokenize(sourceTokens)`. */
  sourceText?: string;
  /** The example's `target` field; defaults to `detokenize(targetTokens)`. */
  targetText?: string;
}

export interface BuildExampleOptions {
  /** Most `[MASK]`s inserted after one slot (default DEFAULT_MAX_INSERT_K = 3). */
  maxInsertK?: number;
  /** Tokenize runs of ASCII letters/digits as one token (default false). */
  groupAsciiAlnum?: boolean;
}

/** Reason codes that start every `LabelResult.reason` (the text after the code gives details). */
export const RejectCode = {
  /** More insertions after one slot than maxInsertK: the model cannot express the pair. */
  INSERT_TOO_LONG: 'insert_too_long',
  /** A source token equals `[MASK]`, so the template would be ambiguous. */
  MASK_IN_SOURCE: 'mask_in_source',
  /** The steps are not an alignment of these tokens (order, coverage, keep mismatch). */
  INVALID_ALIGNMENT: 'invalid_alignment',
} as const;
export type RejectCode = (typeof RejectCode)[keyof typeof RejectCode];

/** The code part of a reject reason: `insert_too_long: 5 tokens ...` → `insert_too_long`. */
export function rejectCode(reason: string): string {
  const colon = reason.indexOf(':');
  return colon < 0 ? reason : reason.slice(0, colon);
}

function checkMaxInsertK(fn: string, k: number): void {
  if (!Number.isInteger(k) || k < 0) throw new RangeError(`${fn}: maxInsertK must be an integer >= 0, got ${k}`);
}

/**
 * Turns an alignment into planner labels, a template and gold tokens. Accepts any valid
 * alignment, minimal or not (data-synth builds steps from its own corruptions), and rejects
 * steps that are not one: each source and target token must be covered once, in order, and a
 * keep must pair equal tokens.
 */
export function labelsFromAlignment(
  sourceTokens: readonly string[],
  targetTokens: readonly string[],
  steps: readonly AlignStep[],
  options: LabelOptions = {},
): LabelResult {
  const maxInsertK = options.maxInsertK ?? DEFAULT_MAX_INSERT_K;
  checkMaxInsertK('labelsFromAlignment', maxInsertK);
  const n = sourceTokens.length;
  const op_labels: PlannerOp[] = new Array<PlannerOp>(n + 1).fill(PlannerOp.KEEP);
  const insert_labels: number[] = new Array<number>(n + 1).fill(0);
  const gold_tokens: string[] = [];
  let nextSource = 0;
  let nextTarget = 0;
  let edits = 0;
  const invalid = (index: number, why: string): LabelResult => ({
    ok: false,
    reason: `${RejectCode.INVALID_ALIGNMENT}: step ${index} ${why}`,
  });

  for (let k = 0; k < steps.length; k++) {
    const step = steps[k];
    if (step.op !== 'insert' && step.source !== nextSource) {
      return invalid(k, `(${step.op}) has source ${step.source}, expected ${nextSource}`);
    }
    if (step.op !== 'delete' && step.target !== nextTarget) {
      return invalid(k, `(${step.op}) has target ${step.target}, expected ${nextTarget}`);
    }
    if ((step.op !== 'insert' && nextSource >= n) || (step.op !== 'delete' && nextTarget >= targetTokens.length)) {
      return invalid(k, `(${step.op}) runs past the end of the tokens`);
    }
    switch (step.op) {
      case 'keep':
        if (sourceTokens[nextSource] !== targetTokens[nextTarget]) {
          return invalid(k, `keeps source ${nextSource} "${sourceTokens[nextSource]}" as target ${nextTarget} "${targetTokens[nextTarget]}"`);
        }
        nextSource++;
        nextTarget++;
        break;
      case 'replace':
        op_labels[nextSource + 1] = PlannerOp.REPLACE;
        gold_tokens.push(targetTokens[nextTarget]);
        nextSource++;
        nextTarget++;
        edits++;
        break;
      case 'delete':
        op_labels[nextSource + 1] = PlannerOp.DELETE;
        nextSource++;
        edits++;
        break;
      case 'insert':
        // Insertions go after the last source slot consumed (slot 0 = sentence start).
        insert_labels[nextSource]++;
        gold_tokens.push(targetTokens[nextTarget]);
        nextTarget++;
        edits++;
        break;
      default:
        return invalid(k, `has unknown op ${JSON.stringify((step as { op: unknown }).op)}`);
    }
  }
  if (nextSource !== n || nextTarget !== targetTokens.length) {
    return {
      ok: false,
      reason: `${RejectCode.INVALID_ALIGNMENT}: steps cover ${nextSource}/${n} source and ${nextTarget}/${targetTokens.length} target tokens`,
    };
  }
  // Checked after validation so a broken alignment is reported as such, not as a long insertion.
  for (let slot = 0; slot <= n; slot++) {
    if (insert_labels[slot] > maxInsertK) {
      return {
        ok: false,
        reason: `${RejectCode.INSERT_TOO_LONG}: ${insert_labels[slot]} tokens after slot ${slot} > maxInsertK=${maxInsertK}`,
      };
    }
  }
  const maskAt = sourceTokens.indexOf(MASK_TOKEN);
  if (maskAt >= 0) {
    return { ok: false, reason: `${RejectCode.MASK_IN_SOURCE}: source token ${maskAt} is ${MASK_TOKEN}` };
  }
  const { template_tokens, mask_positions } = buildTemplate(sourceTokens, op_labels, insert_labels);
  return {
    ok: true,
    edits,
    // Field order is the JSONL column order.
    example: {
      source: options.sourceText ?? detokenize(sourceTokens),
      target: options.targetText ?? detokenize(targetTokens),
      op_labels,
      insert_labels,
      template_tokens,
      gold_tokens,
      mask_positions,
    },
  };
}

/** Tokenizes, aligns (minimal edits) and labels one source/target pair. */
export function buildExample(source: string, target: string, options: BuildExampleOptions = {}): LabelResult {
  if (typeof source !== 'string') throw new TypeError(`buildExample: source must be a string, got ${typeof source}`);
  if (typeof target !== 'string') throw new TypeError(`buildExample: target must be a string, got ${typeof target}`);
  const maxInsertK = options.maxInsertK ?? DEFAULT_MAX_INSERT_K;
  checkMaxInsertK('buildExample', maxInsertK);
  const tokenizeOptions = { groupAsciiAlnum: options.groupAsciiAlnum ?? false };
  const sourceTokens = tokenize(source, tokenizeOptions);
  const targetTokens = tokenize(target, tokenizeOptions);
  const steps = alignTokens(sourceTokens, targetTokens);
  return labelsFromAlignment(sourceTokens, targetTokens, steps, { maxInsertK, sourceText: source, targetText: target });
}
