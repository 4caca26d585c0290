import { MASK_TOKEN } from '@proj/align';
import { fillTemplates, type GapRelmDecodeConfig, type InfillerBatch, type InfillerLogitsSource } from '@proj/sampling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { OnnxGapRelm } from '../onnx-runtime/gap-relm-onnx';
import { GapRelmCodec, type InfillerRun } from './codec';
import { parseGapRelmConfig } from './config';
import { GapRelm } from './gap-relm';
import { alignTemplateToSource, firstTokenPosition } from './inputs';
import { charTokenizer, corpusSentences, TINY } from './testing';

// Random weights and low thresholds: the decode makes REPLACE, DELETE and insert decisions.
const LOW: Partial<GapRelmDecodeConfig> = { deleteThreshold: 0.3, replaceThreshold: 0.3, insertThreshold: 0.3 };

let model: GapRelm;
/** Sentences without a repeated character, so each template's alignment to its source is unambiguous. */
let distinct: string[][];
let V: number;
/** 1 where a logit column can be a fill (the codec sets the others to -Infinity). */
let fillable: Uint8Array;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  const sentences = corpusSentences(24, 8, 14);
  model = GapRelm.create({ ...TINY, aux_csc_weight: 1, replace_fill: 'slot_and_source' }, charTokenizer(sentences), 7);
  distinct = sentences.map((s) => [...s]).filter((s) => new Set(s).size === s.length);
  expect(distinct.length).toBeGreaterThanOrEqual(4);
  V = model.bertConfig.vocabSize;
  fillable = new Uint8Array(V);
  fillable.set(model.codec.infiller.ids.fillable());
});

afterAll(() => model?.dispose());

/** The same model's infiller source with `replace_fill: slot`. */
function slotSource(run: InfillerRun = model.infillerRun()): InfillerLogitsSource {
  return GapRelmCodec.forModel({ ...model.config, replace_fill: 'slot' }, model.tokenizer, model.bertConfig).infillerSource(run);
}

/** Log-softmax by hand (float64). */
function logProbs(row: Float32Array): number[] {
  const top = Math.max(...row);
  const logZ = top + Math.log(row.reduce((sum, x) => sum + Math.exp(x - top), 0));
  return Array.from(row, (x) => x - logZ);
}

/**
 * One explicit infiller run on one (source, template) input: the logits at its masks, then at
 * the source tokens `sourceIndices` (flat position b·L + first source position + i, b = 0).
 */
async function rowsByHand(source: readonly string[], template: readonly string[], masks: number[], sourceIndices: number[]) {
  const x = model.codec.infillerInputs([model.ids.ids(source)], [model.ids.ids(template)], [masks]);
  const start = firstTokenPosition(model.codec.infiller.special);
  const data = await model.infillerRun()({ ...x, positions: Int32Array.from([...x.positions, ...sourceIndices.map((i) => start + i)]) });
  const row = (r: number) => data.slice(r * V, (r + 1) * V);
  return { slot: masks.map((_, m) => row(m)), source: sourceIndices.map((_, k) => row(masks.length + k)) };
}

/** Row `m` of a sentence's fill logits equals `expected` at fillable columns (1e-4) and is -Infinity at the others. */
function expectRow(logits: Float32Array, m: number, expected: ArrayLike<number>) {
  let worst = 0;
  for (let v = 0; v < V; v++) {
    const got = logits[m * V + v];
    if (fillable[v] === 0) expect(got).toBe(-Infinity);
    else worst = Math.max(worst, Math.abs(got - expected[v]));
  }
  expect(worst).toBeLessThan(1e-4);
}

function slotAndSource(slot: Float32Array, source: Float32Array): number[] {
  const fromSource = logProbs(source);
  return logProbs(slot).map((x, v) => x + fromSource[v]);
}

const alignedAt = (source: readonly string[], template: readonly string[], masks: number[]) => {
  const aligned = alignTemplateToSource(model.ids.ids(source), model.ids.ids(template));
  return masks.map((p) => aligned[p]);
};

describe('replace_fill config', () => {
  it("defaults to 'slot'; 'slot_and_source' needs the source segment and the BERT-CSC term", () => {
    expect(parseGapRelmConfig({}).replace_fill).toBe('slot');
    expect(parseGapRelmConfig({ replace_fill: 'slot_and_source', aux_csc_weight: 0.5 }).replace_fill).toBe('slot_and_source');
    expect(() => parseGapRelmConfig({ replace_fill: 'slot_and_source' })).toThrow(
      "replace_fill 'slot_and_source' needs infiller_input 'source_and_template' and aux_csc_weight > 0 (it reads the source positions' predictions, which only that term trains), got infiller_input 'source_and_template' with aux_csc_weight 0",
    );
    expect(() => parseGapRelmConfig({ replace_fill: 'slot_and_source', aux_csc_weight: 1, infiller_input: 'template_only' })).toThrow(
      /replace_fill 'slot_and_source' needs .* got infiller_input 'template_only' with aux_csc_weight 1/,
    );
    expect(() => parseGapRelmConfig({ replace_fill: 'source' })).toThrow(/replace_fill/);
  });
});

describe('GapRelmCodec.infillerSource with replace_fill slot_and_source', () => {
  it("a replacing mask's row is logSoftmax(slot) + logSoftmax(its source token's logits); an inserted mask's row and slot mode are unchanged", async () => {
    const sourceTokens = distinct.slice(0, 3);
    // Replace token 1, insert a mask after token 3, delete token 5.
    const templates = sourceTokens.map((s) => [s[0], MASK_TOKEN, s[2], s[3], MASK_TOKEN, s[4], ...s.slice(6)]);
    const input: InfillerBatch = { sourceTokens, templates, maskPositions: templates.map(() => [1, 4]) };
    const on = await model.infillerSource().fill(input);
    const off = await slotSource().fill(input);
    for (let i = 0; i < 3; i++) {
      expect(alignedAt(sourceTokens[i], templates[i], [1, 4])).toEqual([1, -1]);
      const { slot, source } = await rowsByHand(sourceTokens[i], templates[i], [1, 4], [1]);
      expectRow(off.logits[i], 0, slot[0]);
      expectRow(off.logits[i], 1, slot[1]);
      expectRow(on.logits[i], 0, slotAndSource(slot[0], source[0]));
      expectRow(on.logits[i], 1, slot[1]);
    }
  });

  it("an external infiller (withInfiller) fills from the slot: its source positions had no BERT-CSC term", () => {
    expect(model.codec.infiller.replaceFill).toBe('slot_and_source');
    expect(model.codec.withInfiller(model.tokenizer, model.bertConfig).infiller.replaceFill).toBe('slot');
  });

  it('asks for the source positions in the same run as the masks (no second model call)', async () => {
    const record = (calls: number[]): InfillerRun => {
      const run = model.infillerRun();
      return (x) => {
        calls.push(x.positions.length);
        return run(x);
      };
    };
    const sourceTokens = distinct.slice(0, 4);
    // Two replacing masks and one inserted per sentence.
    const templates = sourceTokens.map((s) => [MASK_TOKEN, s[1], s[2], MASK_TOKEN, MASK_TOKEN, ...s.slice(4)]);
    const input: InfillerBatch = { sourceTokens, templates, maskPositions: templates.map(() => [0, 3, 4]) };
    const withSource: number[] = [];
    const slotOnly: number[] = [];
    await model.codec.infillerSource(record(withSource)).fill(input);
    await slotSource(record(slotOnly)).fill(input);
    expect(withSource).toHaveLength(slotOnly.length);
    expect(slotOnly.reduce((a, b) => a + b)).toBe(4 * 3);
    expect(withSource.reduce((a, b) => a + b)).toBe(4 * 3 + 4 * 2);
  });

  it('when refining, earlier fills stay aligned to the tokens they replace: a re-masked replacing mask still reads its source token', async () => {
    const s = distinct[0];
    const other = distinct.flat().find((c) => !s.includes(c))!;
    // Token 1 filled with another character, token 3 masked again, a mask inserted after token 4.
    const template = [s[0], other, s[2], MASK_TOKEN, s[4], MASK_TOKEN, ...s.slice(5)];
    expect(alignedAt(s, template, [1, 3, 5])).toEqual([1, 3, -1]);
    const { logits } = await model.infillerSource().fill({ sourceTokens: [s], templates: [template], maskPositions: [[3, 5]] });
    const { slot, source } = await rowsByHand(s, template, [3, 5], [3]);
    expectRow(logits[0], 0, slotAndSource(slot[0], source[0]));
    expectRow(logits[0], 1, slot[1]);
  });

  it('fillTemplates with refinement: every round asks for the source token of each replacing mask it predicts', async () => {
    const calls: number[] = [];
    const run = model.infillerRun();
    const source = model.codec.infillerSource((x) => {
      calls.push(x.positions.length);
      return run(x);
    });
    // Masks 1 and 3 replace source tokens, mask 5 is inserted.
    const replacing = new Set([1, 3]);
    const rounds: { masks: number; replacing: number; positions: number }[] = [];
    const spy: InfillerLogitsSource = {
      vocab: source.vocab,
      fill: async (batch) => {
        calls.length = 0;
        const out = await source.fill(batch);
        const masks = batch.maskPositions.flat();
        rounds.push({ masks: masks.length, replacing: masks.filter((p) => replacing.has(p)).length, positions: calls.reduce((a, b) => a + b, 0) });
        return out;
      },
    };
    const items = distinct.slice(0, 2).map((s) => ({ sourceTokens: s, template: [s[0], MASK_TOKEN, s[2], MASK_TOKEN, s[4], MASK_TOKEN, ...s.slice(5)], maskPositions: [1, 3, 5] }));
    await fillTemplates(spy, items, { refinementRounds: 1, refinementFraction: 0.5 });
    expect(rounds).toHaveLength(2);
    expect(rounds[0]).toEqual({ masks: 6, replacing: 4, positions: 10 });
    // Round 2 re-masks 2 of each template's 3 masks with the other fill in place.
    expect(rounds[1].masks).toBe(4);
    expect(rounds[1].replacing).toBeGreaterThan(0);
    expect(rounds[1].positions).toBe(rounds[1].masks + rounds[1].replacing);
  });

  it('an input too long for the infiller: a source cut short combines only the masks whose source token is left; template-only windows keep slot rows', async () => {
    const chars = [...new Set(distinct.flat())];
    expect(chars.length).toBeGreaterThanOrEqual(70);
    // TINY: 64 positions, 2 prompts: 59 tokens of source + template.
    const source = chars.slice(0, 40);
    const cut = source.slice(0, 59 - 40);
    const template = source.map((c, i) => (i === 1 || i === 30 ? MASK_TOKEN : c));
    const on = await model.infillerSource().fill({ sourceTokens: [source], templates: [template], maskPositions: [[1, 30]] });
    expect(alignedAt(cut, template, [1, 30])).toEqual([1, -1]);
    const { slot, source: atSource } = await rowsByHand(cut, template, [1, 30], [1]);
    expectRow(on.logits[0], 0, slotAndSource(slot[0], atSource[0]));
    expectRow(on.logits[0], 1, slot[1]);

    // 40 + 26 template tokens: split into template-only windows, with no source to read.
    const long = [...template.slice(0, 30), ...chars.slice(40, 66), ...template.slice(30)];
    const masks = long.flatMap((t, j) => (t === MASK_TOKEN ? [j] : []));
    const input: InfillerBatch = { sourceTokens: [source], templates: [long], maskPositions: [masks] };
    expect((await model.infillerSource().fill(input)).logits).toEqual((await slotSource().fill(input)).logits);
  });
});

describe('replace_fill slot_and_source on onnxruntime', () => {
  it('OnnxGapRelm.fromModel gives the same infiller rows and corrections as tfjs', async () => {
    const onnx = await OnnxGapRelm.fromModel(model, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    try {
      const sourceTokens = distinct.slice(0, 3);
      const templates = sourceTokens.map((s) => [s[0], MASK_TOKEN, s[2], s[3], MASK_TOKEN, s[4], ...s.slice(6)]);
      const input: InfillerBatch = { sourceTokens, templates, maskPositions: templates.map(() => [1, 4]) };
      const a = await model.infillerSource().fill(input);
      const b = await onnx.infillerSource().fill(input);
      for (let i = 0; i < 3; i++) for (const m of [0, 1]) expectRow(b.logits[i], m, a.logits[i].subarray(m * V, (m + 1) * V));
      const texts = distinct.map((s) => s.join(''));
      for (const decode of [LOW, { ...LOW, refinementRounds: 1 }]) {
        const tf = await model.correct(texts, decode);
        const ort = await onnx.correct(texts, decode);
        const decisions = (cs: typeof tf) => cs.map((c) => ({ ...c, edits: c.edits.map((e) => ({ ...e, confidence: 0 })) }));
        expect(decisions(ort)).toEqual(decisions(tf));
        expect(tf.flatMap((c) => c.edits).filter((e) => e.kind === 'replace').length).toBeGreaterThan(0);
      }
    } finally {
      await onnx.release();
    }
  });
});
