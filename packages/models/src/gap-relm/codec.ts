import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfusionSet } from '@proj/data-synth';
import { correct, type Correction, type GapRelmDecodeConfig, type InfillerLogitsSource, type PlannerLogitsSource } from '@proj/sampling';
import { parseBertConfig, type BertConfig } from '../bert/config';
import { BertTokenizer } from '../tokenizers/bert-tokenizer';
import { parseGapRelmConfig, promptCount, type GapRelmConfig } from './config';
import { alignTemplateToSource, firstTokenPosition, infillerInputs, plannerInputs, type InfillerInputs, type PaddedInputs, type SpecialIds, type TemplateLayout } from './inputs';
import { groupByLength } from './length-groups';
import { CodePointIds, infillerLength, plannerLength, type LengthBudget } from './tokens';

export const GAP_RELM_CONFIG_FILE = 'gap_relm_config.json';

/**
 * A saved model's similar-character table (`similar_fill_bonus`): a confusion set as JSON,
 * `{"char": "similar chars"}`, written by `ConfusionSet.toJSON` and read by `ConfusionSet.load`.
 */
export const SIMILAR_CHARS_FILE = 'similar_chars.json';

/** How one encoder reads text: ids per code point, its special ids, how long its input may be. */
export interface EncoderInputSpec {
  tokenizer: BertTokenizer;
  ids: CodePointIds;
  special: SpecialIds;
  budget: LengthBudget;
  /** How templates are laid out (`infiller_positions`, `slot_hint`); the planner and external infillers: none of it. */
  layout: TemplateLayout;
  /** Rows of the word-embedding table = logit columns of an MLM head (>= the tokenizer's size). */
  vocabSize: number;
  /**
   * How a `[MASK]` that replaces a source token is scored (`replace_fill`); the planner and
   * external infillers: `slot` (an external masked LM's source positions were never trained to correct).
   */
  replaceFill: GapRelmConfig['replace_fill'];
}

function encoderInputSpec(tokenizer: BertTokenizer, bert: BertConfig, prompts: number, withSource: boolean, layout: TemplateLayout = {}, replaceFill: GapRelmConfig['replace_fill'] = 'slot'): EncoderInputSpec {
  if (tokenizer.vocab.size > bert.vocabSize) throw new RangeError(`GapRelmCodec: the tokenizer has ${tokenizer.vocab.size} tokens but the encoder's vocab_size is ${bert.vocabSize}`);
  return {
    tokenizer,
    ids: new CodePointIds(tokenizer),
    special: { cls: tokenizer.clsId, sep: tokenizer.sepId, pad: tokenizer.padId, firstPrompt: bert.vocabSize, prompts },
    budget: { maxPositions: bert.maxPositionEmbeddings, prompts, withSource },
    layout,
    vocabSize: bert.vocabSize,
    replaceFill,
  };
}

/** The infiller's template layout a config asks for. */
export function templateLayout(config: GapRelmConfig): TemplateLayout {
  return { alignedPositions: config.infiller_positions === 'aligned', slotHints: config.slot_hint === 'source_token' };
}

/** Log-softmax of one row of logits, in float64 (the max subtracted first, so exp() cannot overflow). */
function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const x of row) if (x > max) max = x;
  let sum = 0;
  for (const x of row) sum += Math.exp(x - max);
  const logSum = max + Math.log(sum);
  return Float64Array.from(row, (x) => x - logSum);
}

/**
 * `replace_fill: slot_and_source`: the scores of a replaced token's fill, log-softmax of the
 * `[MASK]`'s logits plus log-softmax of the logits at the source token it replaces, both rows
 * from one forward pass: the log of the product of the two predictions (unnormalised; decoding
 * takes its softmax). The source position's prediction is the BERT-CSC one `aux_csc_weight`
 * trains at every source token, about forty predictions per example where the masks get one and a
 * half; on its own it fills worse than the slot, in the product better.
 */
function slotAndSourceRow(slot: Float32Array, source: Float32Array): Float32Array {
  const fromSlot = logSoftmax(slot);
  const fromSource = logSoftmax(source);
  return Float32Array.from(fromSlot, (x, v) => x + fromSource[v]);
}

/**
 * `similar_fill_bonus`: adds `bonus` to the scores of `row` at `ids` (the replaced token and the
 * tokens similar to it), a log-prior that a misspelling is near the character meant.
 */
function addSimilarBonus(row: Float32Array, ids: Int32Array, bonus: number): void {
  for (const id of ids) row[id] += bonus;
}

/** Per token id of `spec`'s vocabulary: itself and the ids of its similar characters in that vocabulary. */
function similarIds(spec: EncoderInputSpec, similar: ConfusionSet): Map<number, Int32Array> {
  const unk = spec.tokenizer.unkId;
  const out = new Map<number, Int32Array>();
  for (const [char, chars] of similar.entries()) {
    const id = spec.ids.id(char);
    if (id === unk) continue;
    const ids = new Set([id]);
    for (const c of chars) {
      const other = spec.ids.id(c);
      if (other !== unk) ids.add(other);
    }
    out.set(id, Int32Array.from(ids));
  }
  return out;
}

/** An engine's planner call: padded inputs → op logits [B, slots, 3], insert logits [B, slots, K + 1]. */
export type PlannerRun = (x: PaddedInputs) => Promise<{ op: Float32Array; ins: Float32Array; slots: number }>;

/**
 * An engine's infiller call: padded inputs with flat `positions` → logits [positions, vocab]: the
 * masks', then with `replace_fill: slot_and_source` those of the source tokens they replace.
 */
export type InfillerRun = (x: InfillerInputs) => Promise<Float32Array>;

/** What a directory written by `GapRelm.save` says about the model, read without weights. */
export interface SavedGapRelm {
  config: GapRelmConfig;
  tokenizer: BertTokenizer;
  /** The encoders' config.json (dropout as saved). */
  bertConfig: BertConfig;
  /** similar_chars.json when the directory has one (needed when similar_fill_bonus > 0). */
  similarChars: ConfusionSet | null;
}

/** Reads gap_relm_config.json, the tokenizer, planner/config.json and similar_chars.json (when there) of a saved Gap-ReLM. */
export async function readSavedGapRelm(dir: string, caller: string): Promise<SavedGapRelm> {
  const configPath = join(dir, GAP_RELM_CONFIG_FILE);
  if (!existsSync(configPath)) throw new Error(`${caller}: ${dir} has no ${GAP_RELM_CONFIG_FILE} (not a saved Gap-ReLM, or an incomplete save)`);
  const config = parseGapRelmConfig(JSON.parse(await readFile(configPath, 'utf8')), configPath);
  const tokenizer = await BertTokenizer.fromDirectory(dir);
  const plannerConfigPath = join(dir, 'planner', 'config.json');
  const bertConfig = parseBertConfig(JSON.parse(await readFile(plannerConfigPath, 'utf8')), plannerConfigPath);
  const similarPath = join(dir, SIMILAR_CHARS_FILE);
  const similarChars = existsSync(similarPath) ? await ConfusionSet.load({ path: similarPath, format: 'json' }) : null;
  if (config.similar_fill_bonus > 0 && similarChars === null) {
    throw new Error(`${caller}: ${configPath} has similar_fill_bonus ${config.similar_fill_bonus} but ${dir} has no ${SIMILAR_CHARS_FILE}; copy it from the training run or set similar_fill_bonus to 0`);
  }
  return { config, tokenizer, bertConfig, similarChars };
}

/**
 * Everything between text and a Gap-ReLM's encoders that does not depend on the engine: ids per
 * code point, padded planner / infiller inputs, cutting to the models' lengths, and turning raw
 * logits back into the sources @proj/sampling decodes. tfjs (GapRelm) and onnxruntime
 * (OnnxGapRelm) both go through it, so the two engines see identical inputs. No tfjs here: an
 * ONNX server builds its inputs from the config and tokenizer files alone.
 *
 * The planner and infiller normally share one tokenizer and input layout; `withInfiller` swaps
 * in another masked LM's (an external BERT exported to ONNX), which gets no P-tuning prompts.
 */
export class GapRelmCodec {
  /** `similar_fill_bonus`: per infiller token id, the ids whose fills get the bonus (null: off). */
  private readonly similarFillIds: Map<number, Int32Array> | null;

  private constructor(
    readonly config: GapRelmConfig,
    readonly planner: EncoderInputSpec,
    readonly infiller: EncoderInputSpec,
    /** The similar-character table `similar_fill_bonus` reads; null when the model has none. */
    readonly similarChars: ConfusionSet | null,
  ) {
    if (config.similar_fill_bonus > 0 && similarChars === null) {
      throw new RangeError(`GapRelmCodec: similar_fill_bonus is ${config.similar_fill_bonus} but the model has no similar-character table (${SIMILAR_CHARS_FILE})`);
    }
    this.similarFillIds = config.similar_fill_bonus > 0 && similarChars !== null ? similarIds(infiller, similarChars) : null;
  }

  /** Both roles read text the same way: the model's tokenizer and encoder config. */
  static forModel(config: GapRelmConfig, tokenizer: BertTokenizer, bert: BertConfig, similarChars: ConfusionSet | null = null): GapRelmCodec {
    const prompts = promptCount(config);
    const withSource = config.infiller_input === 'source_and_template';
    return new GapRelmCodec(
      config,
      encoderInputSpec(tokenizer, bert, prompts, withSource),
      encoderInputSpec(tokenizer, bert, prompts, withSource, templateLayout(config), config.replace_fill),
      similarChars,
    );
  }

  /** The codec of a directory written by `GapRelm.save` (config, tokenizer and similar-character files only). */
  static async fromDirectory(dir: string): Promise<GapRelmCodec> {
    const saved = await readSavedGapRelm(dir, 'GapRelmCodec.fromDirectory');
    return GapRelmCodec.forModel(saved.config, saved.tokenizer, saved.bertConfig, saved.similarChars);
  }

  /**
   * This codec with the infiller replaced by another BERT masked LM (its tokenizer and config):
   * its own [CLS]/[SEP]/[PAD] ids and length, the same source/template layout, no prompts (a
   * standard MLM has no prompt embeddings), and masks filled from their own slot (`replace_fill`
   * reads source positions only the model's BERT-CSC term trains).
   */
  withInfiller(tokenizer: BertTokenizer, bert: BertConfig): GapRelmCodec {
    return new GapRelmCodec(this.config, this.planner, encoderInputSpec(tokenizer, bert, 0, this.infiller.budget.withSource), this.similarChars);
  }

  /** Longest source the planner reads; later tokens are always KEEP with no insertion. */
  get maxPlannerTokens(): number {
    return this.planner.budget.maxPositions - this.planner.budget.prompts - 2;
  }

  /** Whether a source of n tokens fits the planner. */
  fitsPlanner(n: number): boolean {
    return plannerLength(n, this.planner.budget) <= this.planner.budget.maxPositions;
  }

  plannerInputs(sources: readonly (readonly number[])[]): PaddedInputs {
    return plannerInputs(sources, this.planner.special);
  }

  infillerInputs(sources: readonly (readonly number[])[], templates: readonly (readonly number[])[], maskPositions: readonly (readonly number[])[]): InfillerInputs {
    return infillerInputs(sources, templates, maskPositions, this.infiller.budget.withSource, this.infiller.special, this.infiller.layout);
  }

  /**
   * The planner logits source over any engine: `run` maps the padded inputs to op logits
   * [B, slots, 3] and insert logits [B, slots, K + 1], row-major. Rows past the planner's window
   * are certain KEEP with no insertion. A batch of sentences of very different lengths runs as
   * several calls of similar lengths (`groupByLength`), so short sentences are not padded to the
   * longest one.
   */
  plannerSource(run: PlannerRun): PlannerLogitsSource {
    const k1 = this.config.max_insert_k + 1;
    return {
      plan: async ({ sourceTokens }) => {
        if (sourceTokens.length === 0) return { opLogits: [], insertLogits: [] };
        const sources = sourceTokens.map((t) => this.planner.ids.ids(t.slice(0, this.maxPlannerTokens)));
        const opLogits: Float32Array[] = new Array(sources.length);
        const insertLogits: Float32Array[] = new Array(sources.length);
        for (const group of groupByLength(sources.map((s) => s.length))) {
          const { op, ins, slots } = await run(this.plannerInputs(group.map((i) => sources[i])));
          const rows = (data: Float32Array, width: number, b: number, n: number, read: number) => {
            const out = new Float32Array((n + 1) * width);
            out.set(data.subarray(b * slots * width, (b * slots + read + 1) * width));
            // Past the planner's window: certain KEEP (column 0), certain 0 insertions (column 0).
            for (let r = read + 1; r <= n; r++) for (let c = 0; c < width; c++) out[r * width + c] = c === 0 ? 0 : -Infinity;
            return out;
          };
          group.forEach((i, b) => {
            opLogits[i] = rows(op, 3, b, sourceTokens[i].length, sources[i].length);
            insertLogits[i] = rows(ins, k1, b, sourceTokens[i].length, sources[i].length);
          });
        }
        return { opLogits, insertLogits };
      },
    };
  }

  /**
   * The infiller logits source over any engine: `run` maps the padded inputs (with `positions`,
   * the flat mask indices) to logits [masks, vocab], row-major. The vocabulary is listed by logit
   * column (placeholders past vocab.txt); columns that are not one code point ("##x", "[UNK]",
   * words) get -Infinity: a fill is one code point, like every token the decoder assembles.
   * Sentences without masks cost no model call; the rest run in groups of similar lengths.
   *
   * With `replace_fill: slot_and_source`, a mask that stands on a source token (by
   * `alignTemplateToSource`, on the ids of the input it is filled in; also when refining, where
   * earlier fills stay aligned to the tokens they replace) is scored by `slotAndSourceRow` of its
   * own logits and those at that source token, both from the same run (`positions` lists the
   * source positions after the masks). Inserted masks, and every mask of a template-only window,
   * keep their own row. With `similar_fill_bonus`, a mask that stands on a source token then gets
   * the bonus on the columns of that token and of its similar characters.
   */
  infillerSource(run: InfillerRun): InfillerLogitsSource {
    const { tokenizer, ids, vocabSize: V } = this.infiller;
    const vocab = Array.from({ length: V }, (_, i) => (i < tokenizer.vocab.size ? tokenizer.vocab.tokenOf(i) : `[unused-column-${i}]`));
    const fillable = new Uint8Array(V);
    fillable.set(ids.fillable());
    return {
      vocab,
      fill: async ({ sourceTokens, templates, maskPositions }) => {
        if (templates.length === 0) return { logits: [] };
        // One or more model inputs per sentence, in mask order (see `windows`).
        const items = templates
          .flatMap((template, b) => this.windows(sourceTokens[b], template, maskPositions[b]))
          .filter((w) => w.masks.length > 0)
          .map((w) => {
            const source = ids.ids(w.source);
            const template = ids.ids(w.template);
            return { source, template, masks: w.masks, replaced: this.replacedSourceTokens(source, template, w.masks) };
          });
        // Logits [masks, V] of each item, then of each sentence (its items are consecutive).
        const itemLogits: Float32Array[] = new Array(items.length);
        const withSource = this.infiller.budget.withSource;
        const slotAndSource = this.fillsFromSource;
        const sourceStart = firstTokenPosition(this.infiller.special);
        for (const group of groupByLength(items.map((w) => w.template.length + (withSource ? w.source.length + 1 : 0)))) {
          const x = this.infillerInputs(
            group.map((i) => items[i].source),
            group.map((i) => items[i].template),
            group.map((i) => items[i].masks),
          );
          // The replaced source tokens' positions after the masks': one run gives both rows.
          const sourcePositions = slotAndSource ? group.flatMap((i, b) => items[i].replaced.filter((t) => t >= 0).map((t) => b * x.length + sourceStart + t)) : [];
          const data = await run(sourcePositions.length === 0 ? x : { ...x, positions: Int32Array.from([...x.positions, ...sourcePositions]) });
          let row = 0;
          let sourceRow = x.positions.length;
          for (const i of group) {
            const masks = items[i].masks.length;
            itemLogits[i] = data.subarray(row * V, (row + masks) * V);
            items[i].replaced.forEach((t, m) => {
              if (t < 0) return;
              const maskRow = itemLogits[i].subarray(m * V, (m + 1) * V);
              if (slotAndSource) {
                maskRow.set(slotAndSourceRow(maskRow, data.subarray(sourceRow * V, (sourceRow + 1) * V)));
                sourceRow++;
              }
              const similar = this.similarFillIds?.get(items[i].source[t]);
              if (similar !== undefined) addSimilarBonus(maskRow, similar, this.config.similar_fill_bonus);
            });
            row += masks;
          }
        }
        const out: Float32Array[] = [];
        let item = 0;
        for (const masks of maskPositions) {
          const logits = new Float32Array(masks.length * V);
          for (let filled = 0; filled < masks.length; item++) {
            logits.set(itemLogits[item], filled * V);
            filled += itemLogits[item].length / V;
          }
          for (let i = 0; i < logits.length; i++) if (fillable[i % V] === 0) logits[i] = -Infinity;
          out.push(logits);
        }
        return { logits: out };
      },
    };
  }

  /** `replace_fill: slot_and_source` on an infiller that reads the source segment. */
  private get fillsFromSource(): boolean {
    return this.infiller.replaceFill === 'slot_and_source' && this.infiller.budget.withSource;
  }

  /**
   * `replace_fill: slot_and_source` and `similar_fill_bonus`: per mask of one infiller input, the
   * index in `source` of the token it replaces, or -1 (an inserted mask, a template-only window,
   * or neither setting on).
   */
  private replacedSourceTokens(source: readonly number[], template: readonly number[], masks: readonly number[]): number[] {
    if ((!this.fillsFromSource && this.similarFillIds === null) || source.length === 0) return masks.map(() => -1);
    const aligned = alignTemplateToSource(source, template);
    return masks.map((p) => aligned[p]);
  }

  /**
   * Cuts a decode-time (source, template) pair to the infiller's length. Normally it fits as is.
   * Otherwise the source gives way first (cut from the end); a template that alone is too long
   * (a planner inserting many masks into a long sentence) is split into consecutive windows that
   * are filled template-only, each mask with its own window's context. Masks stay in order.
   */
  private windows(source: readonly string[], template: readonly string[], masks: readonly number[]): { source: readonly string[]; template: readonly string[]; masks: number[] }[] {
    const budget = this.infiller.budget;
    const n = budget.withSource ? source.length : 0;
    if (infillerLength(n, template.length, budget) <= budget.maxPositions) return [{ source, template, masks: masks.slice() }];
    const room = budget.maxPositions - budget.prompts - (budget.withSource ? 3 : 2);
    if (template.length <= room) return [{ source: source.slice(0, room - template.length), template, masks: masks.slice() }];
    const out: { source: readonly string[]; template: readonly string[]; masks: number[] }[] = [];
    for (let start = 0; start < template.length; start += room) {
      const inWindow = masks.filter((p) => p >= start && p < start + room).map((p) => p - start);
      if (inWindow.length > 0) out.push({ source: [], template: template.slice(start, start + room), masks: inWindow });
    }
    return out;
  }

  /** `correct()` of @proj/sampling over given sources, with the model's ablations applied to decoding. */
  async correct(planner: PlannerLogitsSource, infiller: InfillerLogitsSource, texts: string[], decode: Partial<GapRelmDecodeConfig> = {}): Promise<Correction[]> {
    const config: Partial<GapRelmDecodeConfig> = { ...decode };
    // The ablations trained no such edits, so decoding must not make them either.
    if (this.config.no_insert) config.noInsert = true;
    if (this.config.no_delete) config.noDelete = true;
    return correct(texts, { planner, infiller, config });
  }
}
