import { MASK_TOKEN } from '@proj/align';
import { checkCount, checkUnit } from '../config-checks';
import { DEFAULT_GAP_RELM_DECODE_CONFIG, type GapRelmDecodeConfig } from './config';
import type { InfillerLogitsSource } from './logits-source';

/** One template to fill. */
export interface FillItem {
  sourceTokens: readonly string[];
  /** Template tokens with `[MASK]` at every position of `maskPositions`. */
  template: readonly string[];
  /** Indices of the `[MASK]`s in `template`, ascending (as `buildTemplate` returns them). */
  maskPositions: readonly number[];
}

/** The fills of one template, in mask order. */
export interface FillResult {
  fills: string[];
  /** Softmax probability (over the whole vocabulary) of each fill when it was last predicted. */
  confidence: Float64Array;
}

export type FillOptions = Partial<Pick<GapRelmDecodeConfig, 'specialTokens' | 'refinementRounds' | 'refinementFraction' | 'batchSize'>>;

/** Argmax over the tokens allowed as output, and its probability under the full softmax. */
function pickRow(logits: Float32Array, offset: number, vocabSize: number, allowed: Uint8Array, fn: string, where: string) {
  let max = -Infinity;
  let best = -1;
  for (let v = 0; v < vocabSize; v++) {
    const x = logits[offset + v];
    if (Number.isNaN(x) || x === Infinity) {
      throw new RangeError(`${fn}: infiller logits ${where}, column ${v} must be finite or -Infinity, got ${x}`);
    }
    if (x > max) max = x;
    // Ties go to the lower vocab id, so the result does not depend on anything but the logits.
    if (allowed[v] && (best < 0 || x > logits[offset + best])) best = v;
  }
  if (max === -Infinity || logits[offset + best] === -Infinity) {
    throw new RangeError(`${fn}: infiller logits ${where} give no emittable token a finite score`);
  }
  let sum = 0;
  for (let v = 0; v < vocabSize; v++) sum += Math.exp(logits[offset + v] - max);
  return { index: best, p: Math.exp(logits[offset + best] - max) / sum };
}

/**
 * Fills templates with an infiller: one batched call per `batchSize` templates, the argmax
 * emittable token per mask (special tokens and `[MASK]` are never emitted), then optional
 * MaskGIT-style refinement: for `refinementRounds` rounds, the least confident
 * `ceil(refinementFraction × masks)` fills of each template (at least one, never all, lower
 * index on ties) are masked again and predicted with the other fills in place, so a fill made
 * without context can change once its neighbours are known. Deterministic: no sampling.
 * Templates without masks are not sent to the infiller.
 */
export async function fillTemplates(
  infiller: InfillerLogitsSource,
  items: readonly FillItem[],
  options: FillOptions = {},
  fn = 'fillTemplates',
): Promise<FillResult[]> {
  const specialTokens = options.specialTokens ?? DEFAULT_GAP_RELM_DECODE_CONFIG.specialTokens;
  const rounds = options.refinementRounds ?? DEFAULT_GAP_RELM_DECODE_CONFIG.refinementRounds;
  const fraction = options.refinementFraction ?? DEFAULT_GAP_RELM_DECODE_CONFIG.refinementFraction;
  const batchSize = options.batchSize ?? DEFAULT_GAP_RELM_DECODE_CONFIG.batchSize;
  checkCount(fn, 'refinementRounds', rounds, 0, false);
  checkUnit(fn, 'refinementFraction', fraction);
  checkCount(fn, 'batchSize', batchSize, 1, false);
  if (!Array.isArray(specialTokens)) throw new TypeError(`${fn}: specialTokens must be an array of strings, got ${JSON.stringify(specialTokens)}`);
  if (!infiller || typeof infiller.fill !== 'function' || !Array.isArray(infiller.vocab)) {
    throw new TypeError(`${fn}: infiller must have a fill() method and a vocab array`);
  }

  const vocab = infiller.vocab;
  const special = new Set([...specialTokens, MASK_TOKEN]);
  const allowed = new Uint8Array(vocab.length);
  for (let v = 0; v < vocab.length; v++) allowed[v] = special.has(vocab[v]) ? 0 : 1;
  if (!allowed.includes(1)) {
    throw new RangeError(`${fn}: infiller vocab has ${vocab.length} entries and all are special tokens; nothing can be emitted`);
  }

  items.forEach((item, i) => {
    let previous = -1;
    for (const p of item.maskPositions) {
      if (!Number.isInteger(p) || p <= previous || p >= item.template.length || item.template[p] !== MASK_TOKEN) {
        throw new RangeError(`${fn}: items[${i}].maskPositions must be ascending indices of [MASK] in the template, got ${JSON.stringify(item.maskPositions)}`);
      }
      previous = p;
    }
  });

  const results: FillResult[] = items.map((item) => ({
    fills: new Array<string>(item.maskPositions.length).fill(MASK_TOKEN),
    confidence: new Float64Array(item.maskPositions.length),
  }));

  // One request per template: which of its masks (indices into maskPositions) to predict, and with what template.
  type Request = { item: number; masks: number[]; template: readonly string[] };
  const run = async (requests: Request[]) => {
    for (let start = 0; start < requests.length; start += batchSize) {
      const chunk = requests.slice(start, start + batchSize);
      const batch = {
        sourceTokens: chunk.map((r) => items[r.item].sourceTokens),
        templates: chunk.map((r) => r.template),
        maskPositions: chunk.map((r) => r.masks.map((m) => items[r.item].maskPositions[m])),
      };
      const { logits } = await infiller.fill(batch);
      if (!Array.isArray(logits) || logits.length !== chunk.length) {
        throw new RangeError(`${fn}: infiller returned ${Array.isArray(logits) ? logits.length : String(logits)} logits arrays for a batch of ${chunk.length}`);
      }
      chunk.forEach((r, b) => {
        const rows = logits[b];
        if (!rows || rows.length !== r.masks.length * vocab.length) {
          throw new RangeError(`${fn}: infiller logits[${b}] must have length masks×vocab = ${r.masks.length}×${vocab.length}, got ${rows?.length}`);
        }
        r.masks.forEach((m, row) => {
          const { index, p } = pickRow(rows, row * vocab.length, vocab.length, allowed, fn, `[${b}] row ${row}`);
          results[r.item].fills[m] = vocab[index];
          results[r.item].confidence[m] = p;
        });
      });
    }
  };

  // 1. Every mask at once, from the template as planned.
  await run(
    items.flatMap((item, i) => (item.maskPositions.length === 0 ? [] : [{ item: i, masks: item.maskPositions.map((_, m) => m), template: item.template }])),
  );

  // 2. Refinement rounds. A template with one mask has no other fill to condition on, so it is done.
  for (let round = 0; round < rounds; round++) {
    const requests: Request[] = [];
    items.forEach((item, i) => {
      const count = item.maskPositions.length;
      if (count < 2) return;
      const k = Math.min(Math.max(Math.ceil(fraction * count), 1), count - 1);
      const { confidence, fills } = results[i];
      const order = Array.from({ length: count }, (_, m) => m).sort((a, b) => confidence[a] - confidence[b] || a - b);
      const masks = order.slice(0, k).sort((a, b) => a - b);
      const template = item.template.slice();
      item.maskPositions.forEach((pos, m) => (template[pos] = fills[m]));
      for (const m of masks) template[item.maskPositions[m]] = MASK_TOKEN;
      requests.push({ item: i, masks, template });
    });
    if (requests.length === 0) break;
    await run(requests);
  }
  return results;
}
