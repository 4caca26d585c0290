/**
 * Deterministic logits sources for tests (not exported from the package): a planner and an
 * infiller driven by probability tables, and an oracle pair built from gold labels. Logits are
 * log-probabilities, so the softmax gives the table back (up to float32 rounding).
 */
import { DEFAULT_MAX_INSERT_K, MASK_TOKEN, buildExample, fillTemplate } from '@proj/align';
import type { CorrectionEdit } from './correct';
import type { InfillerBatch, InfillerLogitsSource, PlannerBatch, PlannerLogitsSource } from './logits-source';

const log = (p: number) => (p === 0 ? -Infinity : Math.log(p));

/** Per-slot planner probabilities of one sentence; slots not listed are confident KEEP / no insert. */
export interface SentenceTable {
  /** slot → [p(KEEP), p(DELETE), p(REPLACE)] */
  op?: Record<number, readonly [number, number, number]>;
  /** slot → [p(0), p(1), …, p(K)] */
  insert?: Record<number, readonly number[]>;
}

export const CONFIDENT_KEEP = [0.98, 0.01, 0.01] as const;

/** A planner that looks sentences up by their text. Records every batch it was given. */
export function tablePlanner(tables: Record<string, SentenceTable>, maxInsertK = DEFAULT_MAX_INSERT_K) {
  const calls: string[][] = [];
  const noInsert = [0.97, ...new Array<number>(maxInsertK).fill(0.03 / maxInsertK)];
  const planner: PlannerLogitsSource = {
    async plan({ sourceTokens }: PlannerBatch) {
      calls.push(sourceTokens.map((t) => t.join('')));
      const opLogits: Float32Array[] = [];
      const insertLogits: Float32Array[] = [];
      for (const tokens of sourceTokens) {
        const table = tables[tokens.join('')] ?? {};
        const slots = tokens.length + 1;
        const op = new Float32Array(slots * 3);
        const ins = new Float32Array(slots * (maxInsertK + 1));
        for (let s = 0; s < slots; s++) {
          (table.op?.[s] ?? CONFIDENT_KEEP).forEach((p, j) => (op[s * 3 + j] = log(p)));
          (table.insert?.[s] ?? noInsert).forEach((p, j) => (ins[s * (maxInsertK + 1) + j] = log(p)));
        }
        opLogits.push(op);
        insertLogits.push(ins);
      }
      return { opLogits, insertLogits };
    },
  };
  return { planner, calls };
}

/** Probabilities over the vocab for one mask; entries not listed share what is left. */
export type FillRule = (context: { sourceTokens: readonly string[]; template: readonly string[]; position: number }) => Partial<Record<string, number>>;

/** An infiller whose per-mask probabilities come from `rule`. Records every batch it was given. */
export function ruleInfiller(vocab: readonly string[], rule: FillRule) {
  const calls: InfillerBatch[] = [];
  const infiller: InfillerLogitsSource = {
    vocab,
    async fill(batch: InfillerBatch) {
      calls.push(batch);
      const logits = batch.templates.map((template, b) => {
        const positions = batch.maskPositions[b];
        const out = new Float32Array(positions.length * vocab.length);
        positions.forEach((position, row) => {
          const probs = rule({ sourceTokens: batch.sourceTokens[b], template, position });
          const listed = vocab.filter((v) => probs[v] !== undefined);
          const rest = Math.max(0, 1 - listed.reduce((sum, v) => sum + probs[v]!, 0)) / Math.max(1, vocab.length - listed.length);
          vocab.forEach((v, j) => (out[row * vocab.length + j] = log(probs[v] ?? rest)));
        });
        return out;
      });
      return { logits };
    },
  };
  return { infiller, calls };
}

/**
 * Planner and infiller that know the gold correction of each source (from `buildExample`), and
 * put probability 0.999 on it: `correct` with them must reproduce every target.
 */
export function oracleSources(pairs: readonly { source: string; target: string }[], specials: readonly string[] = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', MASK_TOKEN]) {
  const bySource = new Map<string, { op_labels: number[]; insert_labels: number[]; template: string[]; gold: string[] }>();
  const chars = new Set<string>();
  for (const { source, target } of pairs) {
    const result = buildExample(source, target);
    if (!result.ok) throw new Error(`oracleSources: ${result.reason}`);
    const { example } = result;
    bySource.set(source, { op_labels: example.op_labels, insert_labels: example.insert_labels, template: example.template_tokens, gold: example.gold_tokens });
    for (const c of Array.from(target)) chars.add(c);
  }
  const vocab = [...specials, ...[...chars].sort()];
  const K = DEFAULT_MAX_INSERT_K;
  const sure = log(0.999);
  const planner: PlannerLogitsSource = {
    async plan({ sourceTokens }) {
      const opLogits: Float32Array[] = [];
      const insertLogits: Float32Array[] = [];
      for (const tokens of sourceTokens) {
        const gold = bySource.get(tokens.join(''))!;
        const slots = tokens.length + 1;
        const op = new Float32Array(slots * 3).fill(log(0.0005));
        const ins = new Float32Array(slots * (K + 1)).fill(log(0.001 / K));
        for (let s = 0; s < slots; s++) {
          op[s * 3 + gold.op_labels[s]] = sure;
          ins[s * (K + 1) + gold.insert_labels[s]] = sure;
        }
        opLogits.push(op);
        insertLogits.push(ins);
      }
      return { opLogits, insertLogits };
    },
  };
  const infiller: InfillerLogitsSource = {
    vocab,
    async fill({ sourceTokens, templates, maskPositions }) {
      return {
        logits: templates.map((template, b) => {
          const gold = bySource.get(sourceTokens[b].join(''))!;
          // The gold template, or (when refining) the gold template with some masks already filled with gold.
          const goldFilled = fillTemplate(gold.template, gold.gold);
          const ok = template.length === gold.template.length && template.every((t, i) => t === gold.template[i] || t === goldFilled[i]);
          if (!ok) throw new Error(`oracle infiller: template ${JSON.stringify(template)} is not the gold one ${JSON.stringify(gold.template)}`);
          const out = new Float32Array(maskPositions[b].length * vocab.length).fill(log(0.001 / vocab.length));
          maskPositions[b].forEach((position, row) => {
            const m = gold.template.slice(0, position).filter((t) => t === MASK_TOKEN).length;
            out[row * vocab.length + vocab.indexOf(gold.gold[m])] = sure;
            // A special token scores higher than the gold char, so emitting one would show.
            out[row * vocab.length + vocab.indexOf('[UNK]')] = log(0.9999);
          });
          return out;
        }),
      };
    },
  };
  return { planner, infiller, vocab };
}

/** Applies edits (in source order) to the source; must give the corrected text. */
export function applyEdits(source: string, edits: readonly CorrectionEdit[]): string {
  const chars = Array.from(source);
  let out = '';
  let cursor = 0;
  for (const e of edits) {
    out += chars.slice(cursor, e.position).join('') + e.to;
    cursor = e.position + Array.from(e.from).length;
  }
  return out + chars.slice(cursor).join('');
}
