import { MASK_TOKEN, PlannerOp, buildTemplate, tokenize as tokenizeCodePoints } from '@proj/align';
import { resolveGapRelmDecodeConfig, type GapRelmDecodeConfig } from './config';
import { fillTemplates, type FillResult } from './fill';
import type { InfillerLogitsSource, PlannerLogitsSource } from './logits-source';
import { decodePlan, plannerProbabilities, type PlannerProbabilities, type SentencePlan } from './plan';

/** One edit of a correction, located in the source. */
export interface CorrectionEdit {
  /** Code-point index in the source: the token replaced or deleted, or where the insertion goes (source length = at the end). */
  position: number;
  /** Source text removed ('' for an insertion). */
  from: string;
  /** Text put in its place ('' for a deletion). */
  to: string;
  kind: 'replace' | 'delete' | 'insert';
  /**
   * replace: p(REPLACE) × p(fill); delete: p(DELETE); insert: p(exactly this many masks) × the
   * lowest p(fill) of the run.
   */
  confidence: number;
}

export interface Correction {
  source: string;
  corrected: string;
  /** In source order. Consecutive insertions after one slot are one edit. */
  edits: CorrectionEdit[];
}

export interface CorrectOptions {
  planner: PlannerLogitsSource;
  infiller: InfillerLogitsSource;
  /** Missing fields take `DEFAULT_GAP_RELM_DECODE_CONFIG`. */
  config?: Partial<GapRelmDecodeConfig>;
  /**
   * Splits a sentence into the tokens the models see; default one per code point (`tokenize`
   * from @proj/align). Tokens must join back to the sentence, so edits can be placed in it.
   */
  tokenize?: (text: string) => string[];
}

/** Tokenizes and checks that the tokens can be placed back in the text. */
export function tokenizeSentences(sentences: readonly string[], tokenize: (text: string) => string[], fn: string): string[][] {
  if (!Array.isArray(sentences)) throw new TypeError(`${fn}: sentences must be an array of strings, got ${typeof sentences}`);
  return sentences.map((text, i) => {
    if (typeof text !== 'string') throw new TypeError(`${fn}: sentences[${i}] must be a string, got ${typeof text}`);
    const tokens = tokenize(text);
    if (tokens.join('') !== text) {
      throw new RangeError(`${fn}: tokenize(sentences[${i}]) does not join back to the sentence, so edits could not be placed in it`);
    }
    const mask = tokens.indexOf(MASK_TOKEN);
    if (mask >= 0) throw new RangeError(`${fn}: sentences[${i}] token ${mask} is ${MASK_TOKEN}, which would be read as a slot to fill`);
    return tokens;
  });
}

/** Calls the planner on one batch and turns its logits into probabilities, checking their shapes. */
export async function planBatch(planner: PlannerLogitsSource, sourceTokens: readonly string[][], fn: string): Promise<PlannerProbabilities[]> {
  const { opLogits, insertLogits } = await planner.plan({ sourceTokens });
  for (const [name, arrays] of [['opLogits', opLogits], ['insertLogits', insertLogits]] as const) {
    if (!Array.isArray(arrays) || arrays.length !== sourceTokens.length) {
      throw new RangeError(`${fn}: planner returned ${Array.isArray(arrays) ? arrays.length : String(arrays)} ${name} arrays for a batch of ${sourceTokens.length}`);
    }
  }
  const probs = sourceTokens.map((tokens, b) => plannerProbabilities(opLogits[b], insertLogits[b], tokens.length, `${fn}: planner output [${b}]`));
  const k = probs[0]?.maxInsertK;
  probs.forEach((p, b) => {
    if (p.maxInsertK !== k) throw new RangeError(`${fn}: planner insertLogits[${b}] implies K=${p.maxInsertK} but [0] implies K=${k}`);
  });
  return probs;
}

/** Builds the corrected text and its edits from tokens, a plan and the fills of its template. */
export function assembleCorrection(source: string, tokens: readonly string[], plan: SentencePlan, filled: FillResult): Correction {
  const out: string[] = [];
  const edits: CorrectionEdit[] = [];
  let next = 0; // next fill
  let position = 0; // code points of source consumed
  const insertRun = (slot: number) => {
    const count = plan.insert_labels[slot];
    if (count === 0) return;
    const run = filled.fills.slice(next, next + count);
    let lowest = 1;
    for (let m = next; m < next + count; m++) lowest = Math.min(lowest, filled.confidence[m]);
    next += count;
    out.push(...run);
    edits.push({ position, from: '', to: run.join(''), kind: 'insert', confidence: plan.insertConfidence[slot] * lowest });
  };
  insertRun(0);
  for (let i = 0; i < tokens.length; i++) {
    const slot = i + 1;
    const token = tokens[i];
    const op = plan.op_labels[slot];
    if (op === PlannerOp.KEEP) {
      out.push(token);
    } else if (op === PlannerOp.DELETE) {
      edits.push({ position, from: token, to: '', kind: 'delete', confidence: plan.opConfidence[slot] });
    } else {
      const fill = filled.fills[next];
      const confidence = plan.opConfidence[slot] * filled.confidence[next];
      next++;
      out.push(fill);
      // A REPLACE filled with the source token itself changes nothing: a KEEP in effect, not an edit.
      if (fill !== token) edits.push({ position, from: token, to: fill, kind: 'replace', confidence });
    }
    position += Array.from(token).length;
    insertRun(slot);
  }
  return { source, corrected: out.join(''), edits };
}

/**
 * Gap-ReLM correction, batch by batch (`config.batchSize` sentences per model call):
 *
 * 1. Tokenize each sentence (one token per code point by default).
 * 2. Planner logits → probabilities → KEEP/DELETE/REPLACE and insertion counts (`decodePlan`).
 * 3. `buildTemplate` puts a `[MASK]` at each REPLACE and insertion; the infiller fills them
 *    (`fillTemplates`, with optional refinement rounds).
 * 4. The filled template is the correction; edits are read off the plan, with code-point
 *    positions in the source.
 */
export async function correct(sentences: readonly string[], options: CorrectOptions): Promise<Correction[]> {
  const fn = 'correct';
  if (!options?.planner || typeof options.planner.plan !== 'function') throw new TypeError(`${fn}: options.planner must have a plan() method`);
  if (!options.infiller || typeof options.infiller.fill !== 'function' || !Array.isArray(options.infiller.vocab)) {
    throw new TypeError(`${fn}: options.infiller must have a fill() method and a vocab array`);
  }
  const config = resolveGapRelmDecodeConfig(options.config, fn);
  const allTokens = tokenizeSentences(sentences, options.tokenize ?? ((text) => tokenizeCodePoints(text)), fn);
  const out: Correction[] = [];
  for (let start = 0; start < sentences.length; start += config.batchSize) {
    const tokens = allTokens.slice(start, start + config.batchSize);
    const probs = await planBatch(options.planner, tokens, fn);
    const plans = probs.map((p) => decodePlan(p, config));
    const templates = plans.map((plan, b) => buildTemplate(tokens[b], plan.op_labels, plan.insert_labels));
    const filled = await fillTemplates(
      options.infiller,
      templates.map((t, b) => ({ sourceTokens: tokens[b], template: t.template_tokens, maskPositions: t.mask_positions })),
      config,
      fn,
    );
    plans.forEach((plan, b) => out.push(assembleCorrection(sentences[start + b], tokens[b], plan, filled[b])));
  }
  return out;
}
