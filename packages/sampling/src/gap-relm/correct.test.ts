import { MASK_TOKEN, tokenize } from '@proj/align';
import { describe, expect, it } from 'vitest';
import { correct } from './correct';
import { applyEdits, ruleInfiller, tablePlanner, type SentenceTable } from './fake-sources';

const M = MASK_TOKEN;

// Planner: 唷 (token 9, slot 10) is confidently REPLACEd; after 去 (token 12, slot 13) it is unsure
// about inserting one char (p = 0.4).
const S1 = '下个星期，我跟我朋唷打算去法国玩儿。';
// Non-BMP: replace 𠀀 (slot 1), delete the second 们 (slot 4), insert after 𠀁 (slot 7).
const S2 = '𠀀他们们去了𠀁';
// The planner wants to replace 天 but the infiller puts 天 back: a KEEP in effect.
const S3 = '今天天气很好';
const TABLES: Record<string, SentenceTable> = {
  [S1]: { op: { 10: [0.02, 0.02, 0.96] }, insert: { 13: [0.6, 0.4, 0, 0] } },
  [S2]: { op: { 1: [0.1, 0.1, 0.8], 4: [0.05, 0.9, 0.05] }, insert: { 7: [0.2, 0.7, 0.1, 0] } },
  [S3]: { op: { 3: [0.3, 0, 0.7] } },
};
// Fill probabilities by sentence and template position.
const FILLS: Record<string, Record<number, Record<string, number>>> = {
  [S1]: { 9: { 友: 0.9, 有: 0.05 }, 13: { 看: 0.6 } },
  [S2]: { 0: { '𠂉': 0.5, '[UNK]': 0.45 }, 6: { '𠀂': 0.8 } },
  [S3]: { 2: { 天: 0.8, 夫: 0.1 } },
};
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', M, '友', '有', '看', '天', '夫', '𠂉', '𠀂'];

function sources() {
  const planner = tablePlanner(TABLES);
  const infiller = ruleInfiller(VOCAB, ({ sourceTokens, position }) => FILLS[sourceTokens.join('')]?.[position] ?? {});
  return { planner: planner.planner, plannerCalls: planner.calls, infiller: infiller.infiller, infillerCalls: infiller.calls };
}

describe('correct', () => {
  it('gives the exact corrections and edits, with positions in code points', async () => {
    const { planner, infiller } = sources();
    const [r1, r2, r3] = await correct([S1, S2, S3], { planner, infiller });

    expect(r1.source).toBe(S1);
    expect(r1.corrected).toBe('下个星期，我跟我朋友打算去法国玩儿。');
    expect(r1.edits).toEqual([{ position: 9, from: '唷', to: '友', kind: 'replace', confidence: expect.closeTo(0.96 * 0.9, 5) }]);

    expect(r2.corrected).toBe('𠂉他们去了𠀁𠀂');
    expect(r2.edits).toEqual([
      // The infiller preferred nothing over 𠂉 but [UNK]; specials are never emitted.
      { position: 0, from: '𠀀', to: '𠂉', kind: 'replace', confidence: expect.closeTo(0.8 * 0.5, 5) },
      // Code point 3, although it is UTF-16 index 4.
      { position: 3, from: '们', to: '', kind: 'delete', confidence: expect.closeTo(0.9, 5) },
      { position: 7, from: '', to: '𠀂', kind: 'insert', confidence: expect.closeTo(0.7 * 0.8, 5) },
    ]);

    // REPLACE filled with the source char: no change and no edit.
    expect(r3).toEqual({ source: S3, corrected: S3, edits: [] });

    for (const r of [r1, r2, r3]) expect(applyEdits(r.source, r.edits)).toBe(r.corrected);
  });

  it('a lower insertThreshold makes the unsure insertion', async () => {
    const { planner, infiller } = sources();
    const [r] = await correct([S1], { planner, infiller, config: { insertThreshold: 0.35 } });
    expect(r.corrected).toBe('下个星期，我跟我朋友打算去看法国玩儿。');
    expect(r.edits.map((e) => [e.kind, e.position, e.to])).toEqual([
      ['replace', 9, '友'],
      ['insert', 13, '看'],
    ]);
    expect(r.edits[1].confidence).toBeCloseTo(0.4 * 0.6, 5);
  });

  it('ablations: noDelete and noInsert keep the source where those edits were planned', async () => {
    const { planner, infiller } = sources();
    const [r] = await correct([S2], { planner, infiller, config: { noDelete: true, noInsert: true } });
    expect(r.corrected).toBe('𠂉他们们去了𠀁');
    expect(r.edits.map((e) => e.kind)).toEqual(['replace']);
  });

  it('a higher replaceThreshold leaves the REPLACE undone', async () => {
    const { planner, infiller } = sources();
    const [r] = await correct([S1], { planner, infiller, config: { replaceThreshold: 0.97 } });
    expect(r.corrected).toBe(S1);
    expect(r.edits).toEqual([]);
  });

  it('batching gives the same result as one sentence at a time', async () => {
    const sentences = [S1, S2, '', S3, S1, '没有错误的句子', S2];
    const one = sources();
    const expected = [];
    for (const s of sentences) expected.push(...(await correct([s], { planner: one.planner, infiller: one.infiller })));
    for (const batchSize of [1, 2, 3, 32]) {
      const s = sources();
      const got = await correct(sentences, { planner: s.planner, infiller: s.infiller, config: { batchSize } });
      expect(got).toEqual(expected);
      expect(s.plannerCalls.map((c) => c.length)).toEqual(
        Array.from({ length: Math.ceil(sentences.length / batchSize) }, (_, i) => Math.min(batchSize, sentences.length - i * batchSize)),
      );
      for (const call of s.infillerCalls) expect(call.templates.length).toBeLessThanOrEqual(batchSize);
    }
    expect(expected[2]).toEqual({ source: '', corrected: '', edits: [] });
  });

  it('passes refinement settings to the infiller', async () => {
    const S = '我门朋有去';
    const planner = tablePlanner({ [S]: { op: { 2: [0, 0, 1], 4: [0, 0, 1] } } }).planner;
    // Mask at 1 is unsure alone and sure once the mask at 3 is filled with 友.
    const { infiller } = ruleInfiller(['[UNK]', '们', '门', '友'], ({ template, position }) =>
      position === 3 ? { 友: 0.9 } : template[3] === M ? { 门: 0.4, 们: 0.35 } : { 们: 0.9 },
    );
    expect((await correct([S], { planner, infiller })).map((r) => r.corrected)).toEqual(['我门朋友去']);
    expect((await correct([S], { planner, infiller, config: { refinementRounds: 1 } })).map((r) => r.corrected)).toEqual(['我们朋友去']);
  });

  it('with a grouping tokenizer, positions are still code points in the source', async () => {
    const S = 'GPT4很好的模形';
    const planner = tablePlanner({ [S]: { op: { 6: [0, 0, 1] } } }).planner;
    const { infiller } = ruleInfiller(['[UNK]', '型'], () => ({ 型: 0.9 }));
    const [r] = await correct([S], { planner, infiller, tokenize: (t) => tokenize(t, { groupAsciiAlnum: true }) });
    expect(r.corrected).toBe('GPT4很好的模型');
    expect(r.edits).toEqual([{ position: 8, from: '形', to: '型', kind: 'replace', confidence: expect.closeTo(0.9, 5) }]);
  });

  it('makes no model call for no sentences', async () => {
    const s = sources();
    expect(await correct([], { planner: s.planner, infiller: s.infiller })).toEqual([]);
    expect(s.plannerCalls).toHaveLength(0);
  });

  describe('errors name the function, the argument and the value', () => {
    const { planner, infiller } = sources();
    it.each([
      [{ config: { deleteThreshold: 1.5 } }, 'correct: deleteThreshold must be in [0, 1], got 1.5'],
      [{ config: { batchSize: 0 } }, 'correct: batchSize must be an integer >= 1, got 0'],
      [{ planner: {} }, 'correct: options.planner must have a plan() method'],
      [{ infiller: { fill: async () => ({ logits: [] }) } }, 'correct: options.infiller must have a fill() method and a vocab array'],
      [{ tokenize: (t: string) => Array.from(t.slice(1)) }, 'correct: tokenize(sentences[0]) does not join back to the sentence'],
      [{ planner: { plan: async () => ({ opLogits: [], insertLogits: [] }) } }, 'correct: planner returned 0 opLogits arrays for a batch of 1'],
      [
        { planner: { plan: async () => ({ opLogits: [new Float32Array(3)], insertLogits: [new Float32Array(1)] }) } },
        'correct: planner output [0]: opLogits must have length (tokens+1)×3 = 9, got 3',
      ],
    ])('%#', async (override, message) => {
      await expect(correct(['好的'], { planner, infiller, ...override } as never)).rejects.toThrow(message);
    });

    it('rejects a literal [MASK] token and a non-string sentence', async () => {
      await expect(correct(['a[MASK]'], { planner, infiller, tokenize: (t) => t.split(/(\[MASK\])/).filter(Boolean) })).rejects.toThrow(
        'correct: sentences[0] token 1 is [MASK], which would be read as a slot to fill',
      );
      await expect(correct([3 as never], { planner, infiller })).rejects.toThrow('correct: sentences[0] must be a string, got number');
    });

    it('rejects planner outputs whose K differs between sentences', async () => {
      const bad = {
        plan: async () => ({ opLogits: [new Float32Array(3), new Float32Array(3)], insertLogits: [new Float32Array(4), new Float32Array(2)] }),
      };
      await expect(correct(['', ''], { planner: bad, infiller })).rejects.toThrow('correct: planner insertLogits[1] implies K=1 but [0] implies K=3');
    });
  });
});
