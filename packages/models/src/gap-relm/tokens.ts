import { MASK_TOKEN, PlannerOp, buildTemplate, tokenize, type PrecomputedExample } from '@proj/align';
import type { BertTokenizer } from '../tokenizers/bert-tokenizer';

/**
 * Code point → vocabulary id, one id per code point (never WordPiece). Precomputed examples and
 * the decoder work per code point (`tokenize` of @proj/align), and planner labels have one slot
 * per source token, so the model must see exactly one position per code point: running WordPiece
 * would merge "ab" into one piece or split it into "a", "##b" and break that one-to-one line-up.
 *
 * A code point is looked up as is, then lower-cased (and accent-stripped) when the tokenizer
 * config says so, then falls back to `[UNK]`. `[MASK]` (one template token) maps to the mask id.
 */
export class CodePointIds {
  private readonly cache = new Map<string, number>();
  private readonly lower: boolean;
  private readonly stripAccents: boolean;

  constructor(readonly tokenizer: BertTokenizer) {
    this.lower = tokenizer.config.doLowerCase;
    this.stripAccents = tokenizer.config.stripAccents ?? tokenizer.config.doLowerCase;
  }

  id(token: string): number {
    let id = this.cache.get(token);
    if (id !== undefined) return id;
    const vocab = this.tokenizer.vocab;
    if (token === MASK_TOKEN) id = this.tokenizer.maskId;
    else {
      id = vocab.idOf(token);
      if (id === undefined && this.lower) {
        let t = token.toLowerCase();
        if (this.stripAccents) t = t.normalize('NFD').replace(/\p{Mn}/gu, '');
        id = vocab.idOf(t);
      }
      id ??= this.tokenizer.unkId;
    }
    this.cache.set(token, id);
    return id;
  }

  ids(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.id(t));
  }

  /**
   * Vocabulary columns a fill may take: single code points only. A "##x" piece or a multi-character
   * word would break the one-token-per-code-point text the decoder assembles.
   */
  fillable(): Uint8Array {
    const tokens = this.tokenizer.vocab.tokens;
    const ok = new Uint8Array(tokens.length);
    for (let i = 0; i < tokens.length; i++) ok[i] = [...tokens[i]].length === 1 ? 1 : 0;
    return ok;
  }
}

/** One training example as model ids, labels one-to-one with model positions. */
export interface EncodedExample {
  /** Source ids, one per code point (n). */
  source: number[];
  /** n + 1 op labels (slot 0 = sentence start) and n + 1 insert labels. */
  opLabels: number[];
  insertLabels: number[];
  /** Gold template ids (masks included) and the mask positions in it. */
  template: number[];
  maskPositions: number[];
  /** Gold fill id per mask, in order. */
  gold: number[];
  /** Source code points (for decoding a predicted template). */
  sourceTokens: string[];
  /** Whether the example was cut to fit `max_position_embeddings`. */
  truncated: boolean;
}

/** How many source tokens fit: planner [CLS] P n [SEP]; infiller [CLS] P (n [SEP]) t [SEP]. */
export interface LengthBudget {
  maxPositions: number;
  prompts: number;
  withSource: boolean;
}

export function plannerLength(n: number, b: LengthBudget): number {
  return n + b.prompts + 2;
}

export function infillerLength(n: number, t: number, b: LengthBudget): number {
  return b.withSource ? n + t + b.prompts + 3 : t + b.prompts + 2;
}

/**
 * Maps a precomputed example to ids, checking that its fields agree, and truncates one that is
 * too long CONSISTENTLY: it keeps the first m source tokens and their m + 1 slots, rebuilds the
 * template from those labels with `buildTemplate`, and keeps the first gold fills (the template's
 * masks are built left to right, so the kept masks are a prefix of the original ones). m is the
 * largest prefix for which both the planner and the infiller input fit. The cut-off tail is
 * simply not trained on; labels, template and fills stay one-to-one. Returns null (drop) only if
 * not even one token fits.
 */
export function encodeExample(example: PrecomputedExample, ids: CodePointIds, budget: LengthBudget, where = 'encodeExample'): EncodedExample | null {
  const sourceTokens = tokenize(example.source);
  const n = sourceTokens.length;
  const { op_labels: ops, insert_labels: inserts, template_tokens: template, gold_tokens: gold, mask_positions: masks } = example;
  if (!Array.isArray(ops) || ops.length !== n + 1) throw new RangeError(`${where}: op_labels must have ${n + 1} entries (source tokens + 1), got ${Array.isArray(ops) ? ops.length : typeof ops}`);
  if (!Array.isArray(inserts) || inserts.length !== n + 1) throw new RangeError(`${where}: insert_labels must have ${n + 1} entries, got ${Array.isArray(inserts) ? inserts.length : typeof inserts}`);
  if (!Array.isArray(masks) || !Array.isArray(gold) || gold.length !== masks.length) {
    throw new RangeError(`${where}: gold_tokens (${gold?.length}) and mask_positions (${masks?.length}) must be arrays of equal length`);
  }
  let m = n;
  let tpl = { template_tokens: template, mask_positions: masks };
  const fits = () => plannerLength(m, budget) <= budget.maxPositions && infillerLength(m, tpl.template_tokens.length, budget) <= budget.maxPositions;
  if (!fits()) {
    // Template length grows with m, so scan down from the longest prefix the planner allows.
    m = Math.min(n, budget.maxPositions - budget.prompts - 2);
    for (; m >= 1; m--) {
      tpl = buildTemplate(sourceTokens.slice(0, m), ops.slice(0, m + 1), inserts.slice(0, m + 1));
      if (fits()) break;
    }
    if (m < 1) return null;
  }
  for (const p of tpl.mask_positions) {
    if (tpl.template_tokens[p] !== MASK_TOKEN) throw new RangeError(`${where}: mask_positions names template token ${p}, which is ${JSON.stringify(tpl.template_tokens[p])}, not ${MASK_TOKEN}`);
  }
  if (ops[0] !== PlannerOp.KEEP) throw new RangeError(`${where}: op_labels[0] (sentence start) must be KEEP (0), got ${ops[0]}`);
  return {
    source: ids.ids(sourceTokens.slice(0, m)),
    opLabels: ops.slice(0, m + 1),
    insertLabels: inserts.slice(0, m + 1),
    template: ids.ids(tpl.template_tokens),
    maskPositions: tpl.mask_positions.slice(),
    gold: ids.ids(gold.slice(0, tpl.mask_positions.length)),
    sourceTokens: sourceTokens.slice(0, m),
    truncated: m < n,
  };
}
