import { Rng } from '@proj/core';
import { ConfusionSet, ErrorGenerator } from '@proj/data-synth';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import type { BertTokenizer } from '../tokenizers/bert-tokenizer';
import { onlineExamples } from './example-source';
import { GapRelm } from './gap-relm';
import { createOpsStageTask } from './ops-stage-task';
import { maskKeptTemplateTokens } from './stage-parts';
import { charTokenizer, corpusSentences, TINY } from './testing';
import type { EncodedExample } from './tokens';

const MASK = 99;

/** A template of `n` tokens (ids 10 + j) with gold masks at `masks` (gold ids 50 + k). */
function example(n: number, masks: number[]): EncodedExample {
  const template = Array.from({ length: n }, (_, j) => (masks.includes(j) ? MASK : 10 + j));
  return { source: [], opLabels: [], insertLabels: [], template, maskPositions: masks, gold: masks.map((_, k) => 50 + k), sourceTokens: [], truncated: false };
}

describe('maskKeptTemplateTokens', () => {
  it('masks round(rate * kept) kept tokens, labels them with the template token, keeps the gold masks and their fills', () => {
    const examples = [example(12, [3, 7]), example(5, []), example(8, [0, 1, 2, 3, 4, 5, 6, 7])];
    const out = maskKeptTemplateTokens(examples, 0.3, MASK, new Rng(1));
    out.forEach((e, b) => {
      const before = examples[b];
      const kept = before.template.length - before.maskPositions.length;
      expect(e.maskPositions.length - before.maskPositions.length).toBe(Math.round(0.3 * kept));
      expect(e.maskPositions).toEqual([...e.maskPositions].sort((x, y) => x - y));
      expect(new Set(e.maskPositions).size).toBe(e.maskPositions.length);
      e.maskPositions.forEach((p, k) => {
        expect(e.template[p]).toBe(MASK);
        const gold = before.maskPositions.indexOf(p);
        expect(e.gold[k]).toBe(gold >= 0 ? before.gold[gold] : before.template[p]);
      });
      // Tokens outside the masks are untouched.
      e.template.forEach((id, j) => {
        if (!e.maskPositions.includes(j)) expect(id).toBe(before.template[j]);
      });
      expect(before.template.filter((id) => id === MASK)).toHaveLength(before.maskPositions.length); // the input is not mutated
    });
  });

  it('is seeded: the same rng state gives the same masks, another seed others; rate 0 draws nothing', () => {
    const examples = Array.from({ length: 6 }, () => example(20, [4]));
    const a = maskKeptTemplateTokens(examples, 0.5, MASK, new Rng(7));
    expect(maskKeptTemplateTokens(examples, 0.5, MASK, new Rng(7))).toEqual(a);
    expect(maskKeptTemplateTokens(examples, 0.5, MASK, new Rng(8))).not.toEqual(a);
    const rng = new Rng(3);
    expect(maskKeptTemplateTokens(examples, 0, MASK, rng)).toEqual(examples);
    expect(rng.float()).toBe(new Rng(3).float());
    expect(maskKeptTemplateTokens(examples, 1, MASK, new Rng(1)).every((e) => e.maskPositions.length === 20)).toBe(true);
  });

  it('refuses a rate outside [0, 1]', () => {
    expect(() => maskKeptTemplateTokens([], 1.5, MASK, new Rng(1))).toThrow('maskKeptTemplateTokens: rate must be in [0, 1], got 1.5');
  });
});

describe('template_mask_rate in a stage task', () => {
  const confusion = ConfusionSet.fromRecord({ 的: '嘚', 是: '昰', 一: '弌' });
  const generator = new ErrorGenerator({ pi_skip: 0, pi_multiply: 0, pi_replace: 1, p_corrupt: 0.7, max_edits_per_sent: 1, seed: 7 }, confusion);
  let sentences: string[];
  let tokenizer: BertTokenizer;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
    sentences = corpusSentences(4000, 6, 14).filter((s) => /[的是一]/u.test(s)).slice(0, 16);
    tokenizer = charTokenizer(sentences, confusion);
  });

  const labelsOf = async (rate: number) => {
    const model = GapRelm.create({ ...TINY, template_mask_rate: rate }, tokenizer, 5);
    const task = createOpsStageTask('infiller_pretrain', model, { train: onlineExamples(sentences, generator, 1), totalSteps: 1 });
    const batch = await task.batch(Array.from({ length: 8 }, (_, i) => i), { epoch: 0, batchIndex: 0, step: 0, rng: new Rng(0), training: true });
    model.dispose();
    return { labels: Array.from(batch.infill_labels.data as Int32Array), positions: batch.infill_positions.data.length };
  };

  it('trains the infiller on more positions: the gold masks plus a share of the kept template tokens', async () => {
    const off = await labelsOf(0);
    const on = await labelsOf(0.3);
    expect(on.positions).toBe(on.labels.length);
    expect(on.labels.length).toBeGreaterThan(off.labels.length + 8); // at least one more per sentence of >= 6 characters
    expect(new Set(on.labels).size).toBeGreaterThan(new Set(off.labels).size);
  });
});
