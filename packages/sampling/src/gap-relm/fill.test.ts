import { MASK_TOKEN } from '@proj/align';
import { describe, expect, it } from 'vitest';
import { ruleInfiller } from './fake-sources';
import { fillTemplates, type FillItem } from './fill';
import type { InfillerLogitsSource } from './logits-source';

const M = MASK_TOKEN;
const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', M, '友', '有', '们', '门', '去'];
const item = (template: string[], source = template.filter((t) => t !== M)): FillItem => ({
  sourceTokens: source,
  template,
  maskPositions: template.flatMap((t, i) => (t === M ? [i] : [])),
});

describe('fillTemplates', () => {
  it('takes the argmax per mask, with its softmax probability as confidence', async () => {
    const { infiller, calls } = ruleInfiller(VOCAB, ({ position }) => (position === 1 ? { 友: 0.7, 有: 0.2 } : { 们: 0.6 }));
    const [r] = await fillTemplates(infiller, [item(['朋', M, M])]);
    expect(r.fills).toEqual(['友', '们']);
    expect(r.confidence[0]).toBeCloseTo(0.7, 6);
    expect(r.confidence[1]).toBeCloseTo(0.6, 6);
    expect(calls).toHaveLength(1);
    expect(calls[0].maskPositions).toEqual([[1, 2]]);
  });

  it('never emits a special token, even when it has the highest score', async () => {
    const { infiller } = ruleInfiller(VOCAB, () => ({ '[UNK]': 0.5, '[MASK]': 0.3, '[SEP]': 0.1, 有: 0.06, 友: 0.04 }));
    const [r] = await fillTemplates(infiller, [item(['没', M])]);
    expect(r.fills).toEqual(['有']);
    // Confidence is under the full softmax: the model gave 有 only 6%, and refinement should know.
    expect(r.confidence[0]).toBeCloseTo(0.06, 6);
  });

  it('specialTokens is configurable, but [MASK] is never emitted', async () => {
    const { infiller } = ruleInfiller(VOCAB, ({ position }) => (position === 0 ? { '[MASK]': 0.9, 有: 0.05 } : { '[UNK]': 0.9, 有: 0.05 }));
    const [r] = await fillTemplates(infiller, [item([M, M])], { specialTokens: [] });
    expect(r.fills).toEqual(['有', '[UNK]']);
  });

  it('rejects a vocabulary with nothing to emit', async () => {
    const { infiller } = ruleInfiller(['[UNK]', M], () => ({}));
    await expect(fillTemplates(infiller, [item([M])])).rejects.toThrow(
      'fillTemplates: infiller vocab has 2 entries and all are special tokens; nothing can be emitted',
    );
  });

  describe('refinement', () => {
    // Alone, mask 1 leans to 门 (wrong, unsure); once mask 2 is filled with 友, 们 wins clearly.
    const rule = ({ template, position }: { template: readonly string[]; position: number }) => {
      if (position === 2) return { 友: 0.9 };
      return template[2] === M ? { 门: 0.4, 们: 0.35 } : { 们: 0.8, 门: 0.1 };
    };

    it('without refinement keeps the first-pass fill', async () => {
      const { infiller } = ruleInfiller(VOCAB, rule);
      const [r] = await fillTemplates(infiller, [item(['我', M, M, '去'])]);
      expect(r.fills).toEqual(['门', '友']);
    });

    it('re-masks the least confident fill and predicts it with the other fills in place', async () => {
      const { infiller, calls } = ruleInfiller(VOCAB, rule);
      const [r] = await fillTemplates(infiller, [item(['我', M, M, '去'])], { refinementRounds: 1, refinementFraction: 0.5 });
      expect(r.fills).toEqual(['们', '友']);
      expect(r.confidence[0]).toBeCloseTo(0.8, 6);
      expect(calls).toHaveLength(2);
      expect(calls[1].templates).toEqual([['我', M, '友', '去']]);
      expect(calls[1].maskPositions).toEqual([[1]]);
    });

    it('never re-masks every fill (that would repeat the first pass) and is deterministic', async () => {
      const { infiller, calls } = ruleInfiller(VOCAB, rule);
      const a = await fillTemplates(infiller, [item(['我', M, M, '去'])], { refinementRounds: 3, refinementFraction: 1 });
      expect(calls.slice(1).map((c) => c.maskPositions)).toEqual([[[1]], [[1]], [[1]]]);
      const b = await fillTemplates(infiller, [item(['我', M, M, '去'])], { refinementRounds: 3, refinementFraction: 1 });
      expect(b).toEqual(a);
    });

    it('does not call the infiller again for templates with fewer than two masks', async () => {
      const { infiller, calls } = ruleInfiller(VOCAB, () => ({ 有: 0.3 }));
      await fillTemplates(infiller, [item(['没', M]), item(['没', '有'])], { refinementRounds: 3 });
      expect(calls).toHaveLength(1);
      expect(calls[0].templates).toEqual([['没', M]]);
    });
  });

  it('sends batchSize templates per call and skips templates without masks', async () => {
    const { infiller, calls } = ruleInfiller(VOCAB, () => ({ 有: 0.9 }));
    const items = [item([M]), item(['a']), item([M, 'b']), item(['c', M]), item([M, M]), item([M])];
    const results = await fillTemplates(infiller, items, { batchSize: 2 });
    expect(calls.map((c) => c.templates.length)).toEqual([2, 2, 1]);
    expect(results.map((r) => r.fills)).toEqual([['有'], [], ['有'], ['有'], ['有', '有'], ['有']]);
  });

  it('does not call the infiller when nothing is masked', async () => {
    const { infiller, calls } = ruleInfiller(VOCAB, () => ({}));
    expect(await fillTemplates(infiller, [item(['a'])])).toEqual([{ fills: [], confidence: new Float64Array(0) }]);
    expect(calls).toHaveLength(0);
  });

  it.each([
    [{ logits: [] }, 'fillTemplates: infiller returned 0 logits arrays for a batch of 1'],
    [{ logits: [new Float32Array(3)] }, 'fillTemplates: infiller logits[0] must have length masks×vocab = 1×2, got 3'],
    [{ logits: [Float32Array.of(0, NaN)] }, 'fillTemplates: infiller logits [0] row 0, column 1 must be finite or -Infinity, got NaN'],
    [{ logits: [Float32Array.of(0, -Infinity)] }, 'fillTemplates: infiller logits [0] row 0 give no emittable token a finite score'],
  ])('rejects a malformed infiller output %#', async (output, message) => {
    const infiller: InfillerLogitsSource = { vocab: ['[UNK]', '有'], fill: async () => output };
    await expect(fillTemplates(infiller, [item([M])])).rejects.toThrow(message);
  });

  it.each([
    [{ batchSize: 0 }, 'fillTemplates: batchSize must be an integer >= 1, got 0'],
    [{ refinementRounds: 1.5 }, 'fillTemplates: refinementRounds must be an integer >= 0, got 1.5'],
    [{ refinementFraction: -1 }, 'fillTemplates: refinementFraction must be in [0, 1], got -1'],
  ])('rejects options %j', async (options, message) => {
    const { infiller } = ruleInfiller(VOCAB, () => ({}));
    await expect(fillTemplates(infiller, [item([M])], options)).rejects.toThrow(message);
  });

  it('rejects mask positions that do not point at [MASK]', async () => {
    const { infiller } = ruleInfiller(VOCAB, () => ({}));
    await expect(fillTemplates(infiller, [{ sourceTokens: [], template: ['a', M], maskPositions: [0] }])).rejects.toThrow(
      'fillTemplates: items[0].maskPositions must be ascending indices of [MASK] in the template, got [0]',
    );
  });
});
