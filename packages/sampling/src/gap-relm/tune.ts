import { buildTemplate, fillTemplate, tokenize as tokenizeCodePoints, type Template } from '@proj/align';
import { cgecScore, cscMetrics, fbeta, prfFromCounts, type PRFCounts } from '@proj/metrics';
import { resolveGapRelmDecodeConfig, type GapRelmDecodeConfig } from './config';
import { planBatch, tokenizeSentences, type CorrectOptions } from './correct';
import { fillTemplates } from './fill';
import { decodePlan, type PlannerProbabilities } from './plan';

/** A dev sentence and its gold correction. */
export interface DevPair {
  source: string;
  target: string;
}

/** Threshold values to try; every combination is decoded and scored. */
export interface TuneGrid {
  deleteThreshold: readonly number[];
  insertThreshold: readonly number[];
  replaceThreshold: readonly number[];
}

/** 0.1 … 0.9 for each threshold: 729 decodings, each cheap once the model outputs are cached. */
export const DEFAULT_TUNE_GRID: Readonly<TuneGrid> = Object.freeze({
  deleteThreshold: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  insertThreshold: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
  replaceThreshold: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
});

/**
 * What the thresholds are chosen for:
 * - `csc-sentence`: sentence-level correction P/R from `cscMetrics` (SIGHAN CSC; needs gold pairs
 *   of equal length; a prediction of another length is a sentence with edits that is never right).
 * - `char-edit`: char-level span edits from `cgecScore` (ChERRANT-style: edits extracted from the
 *   minimal alignment of source→prediction and source→gold; TP = identical (start, end, text)
 *   span), with P/R recomputed by `prfFromCounts` (0/0 = 0). Handles insertions and deletions.
 */
export type TuneMetric = 'csc-sentence' | 'char-edit';

export interface TuneOptions extends CorrectOptions {
  /** Missing lists take `DEFAULT_TUNE_GRID`. Other decode settings come from `config`. */
  grid?: Partial<TuneGrid>;
  /** F-beta to maximise; default 2 (recall weighted twice, the Gap-ReLM operating point). */
  beta?: number;
  /** Default `auto`: `csc-sentence` if every gold pair has equal length in code points, else `char-edit`. */
  metric?: TuneMetric | 'auto';
}

export interface TuneRow {
  deleteThreshold: number;
  insertThreshold: number;
  replaceThreshold: number;
  /** F-beta of the chosen metric. */
  score: number;
  /** Sentence-level correction counts from `cscMetrics` (0s when no gold pair has equal length). */
  cscSentence: PRFCounts;
  /** Char-edit counts from `cgecScore`. */
  charEdit: PRFCounts;
}

export interface TuneResult {
  metric: TuneMetric;
  beta: number;
  /** One row per threshold triple, delete-major then insert then replace, in grid order. */
  rows: TuneRow[];
  /** The row with the highest score; on ties, the first in `rows`. */
  best: TuneRow;
  /** The decode config with the best thresholds, ready for `correct`. */
  bestConfig: GapRelmDecodeConfig;
  /** Distinct (sentence, template) pairs with masks that the infiller filled: the infiller's work, cached across triples. */
  templatesFilled: number;
}

interface SentenceCounts {
  /** [tp, fp, fn] of sentence-level CSC correction. */
  csc: number[];
  /** [tp, fp, fn] of char-level span edits. */
  edit: number[];
}

/**
 * One sentence's contribution to both metrics. Both are sums over sentences (CSC counts are; with
 * one reference per sentence, ChERRANT's per-sentence reference choice has nothing to choose), so
 * counts can be cached per (sentence, prediction) and added up: most triples repeat most
 * predictions, and re-aligning them for every triple dominated the sweep.
 */
function sentenceCounts(source: string, target: string, pred: string, beta: number): SentenceCounts {
  const { tp, fp, fn } = cscMetrics([source], [target], [pred]).sentence.correction;
  const cgec = cgecScore([source], [pred], [[target]], { beta });
  return { csc: [tp, fp, fn], edit: [cgec.tp, cgec.fp, cgec.fn] };
}

function checkGrid(fn: string, name: keyof TuneGrid, values: readonly number[]): void {
  if (!Array.isArray(values) || values.length === 0) throw new RangeError(`${fn}: grid.${name} must be a non-empty array, got ${JSON.stringify(values)}`);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new RangeError(`${fn}: grid.${name}[${i}] must be in [0, 1], got ${String(v)}`);
  });
}

/**
 * Sweeps decision thresholds on a dev set and reports the F-beta of each triple.
 *
 * The planner runs once (its probabilities are cached); each triple only re-makes the decisions.
 * Fills depend on the template alone, so the infiller runs once per distinct (sentence, template),
 * batched `config.batchSize` at a time; triples that produce a template seen before reuse its
 * fills. The infiller must therefore be deterministic, as `correct` assumes too.
 */
export async function tuneThresholds(dev: readonly DevPair[], options: TuneOptions): Promise<TuneResult> {
  const fn = 'tuneThresholds';
  if (!Array.isArray(dev) || dev.length === 0) throw new RangeError(`${fn}: dev must be a non-empty array of {source, target}`);
  dev.forEach((pair, i) => {
    if (typeof pair?.source !== 'string' || typeof pair?.target !== 'string') {
      throw new TypeError(`${fn}: dev[${i}] must have string source and target`);
    }
  });
  const base = resolveGapRelmDecodeConfig(options.config, fn);
  const grid: TuneGrid = { ...DEFAULT_TUNE_GRID, ...options.grid };
  for (const name of ['deleteThreshold', 'insertThreshold', 'replaceThreshold'] as const) checkGrid(fn, name, grid[name]);
  const beta = options.beta ?? 2;
  if (!(beta > 0 && Number.isFinite(beta))) throw new RangeError(`${fn}: beta must be a finite number > 0, got ${beta}`);
  const requested = options.metric ?? 'auto';
  if (!['auto', 'csc-sentence', 'char-edit'].includes(requested)) {
    throw new RangeError(`${fn}: metric must be 'auto', 'csc-sentence' or 'char-edit', got ${String(requested)}`);
  }
  const sources = dev.map((p) => p.source);
  const targets = dev.map((p) => p.target);
  const equalLength = dev.every((p) => Array.from(p.source).length === Array.from(p.target).length);
  const metric: TuneMetric = requested === 'auto' ? (equalLength ? 'csc-sentence' : 'char-edit') : requested;

  // 1. Planner outputs, once.
  const tokens = tokenizeSentences(sources, options.tokenize ?? ((text) => tokenizeCodePoints(text)), fn);
  const probs: PlannerProbabilities[] = [];
  for (let start = 0; start < tokens.length; start += base.batchSize) {
    probs.push(...(await planBatch(options.planner, tokens.slice(start, start + base.batchSize), fn)));
  }

  // 2. Each triple: decisions, fills, scores. A sentence's output depends only on its template
  //    (the fills do, and the text is the filled template), so everything after the plan is cached
  //    per template; plans are mapped to their template once, since many triples repeat a plan.
  type Entry = { template: Template; corrected?: string };
  const byPlan = dev.map(() => new Map<string, Entry>());
  const byTemplate = dev.map(() => new Map<string, Entry>());
  const countCache = dev.map(() => new Map<string, SentenceCounts>());
  const rows: TuneRow[] = [];
  let templatesFilled = 0;
  for (const deleteThreshold of grid.deleteThreshold) {
    for (const insertThreshold of grid.insertThreshold) {
      for (const replaceThreshold of grid.replaceThreshold) {
        const config = { ...base, deleteThreshold, insertThreshold, replaceThreshold };
        const entries = probs.map((p, i) => {
          const plan = decodePlan(p, config);
          const planKey = `${plan.op_labels.join('')}/${plan.insert_labels.join(',')}`;
          let entry = byPlan[i].get(planKey);
          if (!entry) {
            const template = buildTemplate(tokens[i], plan.op_labels, plan.insert_labels);
            const key = JSON.stringify(template.template_tokens);
            entry = byTemplate[i].get(key);
            if (!entry) byTemplate[i].set(key, (entry = { template }));
            byPlan[i].set(planKey, entry);
          }
          return entry;
        });
        const missing = entries.flatMap((e, i) => (e.corrected === undefined ? [i] : []));
        const filled = await fillTemplates(
          options.infiller,
          missing.map((i) => ({ sourceTokens: tokens[i], template: entries[i].template.template_tokens, maskPositions: entries[i].template.mask_positions })),
          config,
          fn,
        );
        missing.forEach((i, m) => {
          const { template_tokens, mask_positions } = entries[i].template;
          entries[i].corrected = fillTemplate(template_tokens, filled[m].fills).join('');
          if (mask_positions.length > 0) templatesFilled++;
        });
        const csc = [0, 0, 0];
        const edit = [0, 0, 0];
        entries.forEach((entry, i) => {
          const pred = entry.corrected!;
          let counts = countCache[i].get(pred);
          if (!counts) countCache[i].set(pred, (counts = sentenceCounts(sources[i], targets[i], pred, beta)));
          for (let j = 0; j < 3; j++) {
            csc[j] += counts.csc[j];
            edit[j] += counts.edit[j];
          }
        });
        const cscSentence = prfFromCounts(csc[0], csc[1], csc[2]);
        const charEdit = prfFromCounts(edit[0], edit[1], edit[2]);
        const chosen = metric === 'csc-sentence' ? cscSentence : charEdit;
        rows.push({ deleteThreshold, insertThreshold, replaceThreshold, score: fbeta(chosen.precision, chosen.recall, beta), cscSentence, charEdit });
      }
    }
  }
  const best = rows.reduce((a, b) => (b.score > a.score ? b : a));
  const bestConfig = { ...base, deleteThreshold: best.deleteThreshold, insertThreshold: best.insertThreshold, replaceThreshold: best.replaceThreshold };
  return { metric, beta, rows, best, bestConfig, templatesFilled };
}
