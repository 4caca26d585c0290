import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PlannerOp, fillTemplate, levenshtein, tokenize } from '@proj/align';
import { Rng } from '@proj/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfusionSet } from './confusion-set';
import { ErrorGenerator, editCost, type Corruption } from './error-generator';
import { TruncatedPoisson } from './truncated-poisson';

const data = (path: string) => fileURLToPath(new URL(`../../../apps/gap-relm/data/${path}`, import.meta.url));
const corpus = readFileSync(data('corpus/wiki.zh-cn.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '');
let pycorrector: ConfusionSet;
beforeAll(async () => {
  pycorrector = await ConfusionSet.fromFiles([data('confusion/same_pinyin.txt'), data('confusion/same_stroke.txt')]);
});

/** Every invariant of one corruption and its labels; returns whether the labels are minimal. */
function checkCorruption(generator: ErrorGenerator, c: Corruption, confusion: ConfusionSet): boolean {
  const { max_insert_k, max_edits_per_sent } = generator.config;
  const target = tokenize(c.target);
  expect(c.edits.length).toBeLessThanOrEqual(max_edits_per_sent);
  // Sorted, pairwise non-adjacent, describing the clean text.
  c.edits.forEach((e, i) => {
    expect(target[e.position]).toBe(e.char);
    if (i > 0) expect(e.position - c.edits[i - 1].position).toBeGreaterThanOrEqual(2);
    if (e.type === 'replace') {
      expect(e.replacement).not.toBe(e.char);
      expect(confusion.get(e.char)).toContain(e.replacement);
    }
    if (e.type === 'multiply') {
      expect(e.count).toBeGreaterThanOrEqual(1);
      expect(e.count).toBeLessThanOrEqual(max_insert_k);
    }
  });
  if (c.edits.length > 0) expect(c.source).not.toBe(c.target);
  else expect(c.source).toBe(c.target);

  const result = generator.toExample(c);
  if (!result.ok) throw new Error(`labels rejected ${JSON.stringify(c)}: ${result.reason}`);
  const ex = result.example;
  expect(ex.source).toBe(c.source);
  expect(ex.target).toBe(c.target);
  expect(fillTemplate(ex.template_tokens, ex.gold_tokens).join('')).toBe(c.target);
  const deletes = ex.op_labels.filter((op) => op === PlannerOp.DELETE).length;
  const cost = c.edits.reduce((sum, e) => sum + editCost(e), 0);
  expect(result.edits).toBe(cost);
  expect(ex.mask_positions.length + deletes).toBe(cost);
  expect(Math.max(...ex.insert_labels)).toBeLessThanOrEqual(1);
  const distance = levenshtein(tokenize(c.source), target);
  expect(distance).toBeLessThanOrEqual(cost);
  return distance === cost;
}

describe('ErrorGenerator: property test over the bundled corpus', () => {
  it('default config: valid labels, exact edit counts, minimal corruptions, on 12,000 sentences x 2 sets', () => {
    for (const confusion of [pycorrector, ConfusionSet.default()]) {
      const generator = new ErrorGenerator({}, confusion);
      let nonMinimal = 0;
      for (let i = 0; i < 12_000; i++) {
        const index = (i * 7919) % corpus.length; // spread over the file
        const c = generator.corruptWithType(corpus[index], Rng.derive(11, index));
        expect(c.edits.length).toBeGreaterThan(0); // every corpus sentence has a usable position
        if (!checkCorruption(generator, c, confusion)) nonMinimal++;
      }
      expect(nonMinimal).toBe(0);
    }
  });

  it('dense errors (lambda 5, up to 20 edits): labels stay valid; the rare non-minimal cases are < 0.5%', () => {
    // Non-minimal happens when a skip and a multiply meet repeated text ("牙刷是牙刷"): the
    // alignment can shift the repeat. The labels are still a correct (just not shortest) alignment.
    const config = { base_lambda: 5, max_edits_per_sent: 20, pi_skip: 1, pi_multiply: 1, pi_replace: 1 };
    const generator = new ErrorGenerator(config, pycorrector);
    let nonMinimal = 0;
    const n = 6000;
    for (let i = 0; i < n; i++) if (!checkCorruption(generator, generator.corruptWithType(corpus[i], Rng.derive(3, i)), pycorrector)) nonMinimal++;
    expect(nonMinimal / n).toBeLessThan(0.005);
  });

  it('same (seed, index) gives the same output; another index gives another', () => {
    const generator = new ErrorGenerator({}, pycorrector);
    const runs = (seed: number) => corpus.slice(0, 500).map((s, i) => generator.corruptWithType(s, Rng.derive(seed, i)));
    expect(runs(5)).toEqual(runs(5));
    const other = runs(6);
    const same = runs(5).filter((c, i) => c.source === other[i].source).length;
    expect(same).toBeLessThan(50);
  });
});

describe('ErrorGenerator: distributions', () => {
  const long = corpus.filter((s) => [...s].length >= 30).slice(0, 3000);

  it('error counts follow TruncatedPoisson(base_lambda, 1, max_edits_per_sent) when every position is feasible', () => {
    const generator = new ErrorGenerator({ base_lambda: 2, max_edits_per_sent: 4 }, pycorrector);
    const counts = [0, 0, 0, 0, 0];
    long.forEach((s, i) => counts[generator.corruptWithType(s, Rng.derive(1, i)).edits.length]++);
    const dist = new TruncatedPoisson(2, 1, 4);
    expect(counts[0]).toBe(0);
    for (let k = 1; k <= 4; k++) expect(counts[k] / long.length).toBeCloseTo(dist.pmf(k), 1);
  });

  it('error types follow pi where every type is possible', () => {
    const generator = new ErrorGenerator({ pi_skip: 1, pi_multiply: 2, pi_replace: 1 }, pycorrector);
    const byType = { skip: 0, multiply: 0, replace: 0 };
    let checked = 0;
    long.forEach((s, i) => {
      const chars = tokenize(s);
      for (const e of generator.corruptWithType(s, Rng.derive(2, i)).edits) {
        // Only count positions where all three types were possible.
        if (!pycorrector.has(e.char) || chars[e.position - 1] === e.char || chars[e.position + 1] === e.char) continue;
        byType[e.type]++;
        checked++;
      }
    });
    expect(checked).toBeGreaterThan(3000);
    expect(byType.multiply / checked).toBeCloseTo(0.5, 1);
    expect(byType.skip / checked).toBeCloseTo(0.25, 1);
    expect(byType.replace / checked).toBeCloseTo(0.25, 1);
  });

  it('maybeCorrupt corrupts with probability p_corrupt', () => {
    const generator = new ErrorGenerator({ p_corrupt: 0.3 }, pycorrector);
    const n = 4000;
    let corrupted = 0;
    for (let i = 0; i < n; i++) if (generator.maybeCorrupt(corpus[i], Rng.derive(4, i)).edits.length > 0) corrupted++;
    expect(corrupted / n).toBeCloseTo(0.3, 1);
    expect(new ErrorGenerator({ p_corrupt: 0 }, pycorrector).maybeCorrupt(corpus[0], new Rng(1)).edits).toEqual([]);
  });

  it('lambda_mode ratio gives more errors to longer sentences', () => {
    const generator = new ErrorGenerator({ lambda_mode: 'ratio', error_ratio: 0.1, max_edits_per_sent: 10 }, pycorrector);
    const mean = (sentences: string[]) =>
      sentences.reduce((sum, s, i) => sum + generator.corruptWithType(s, Rng.derive(8, i)).edits.length, 0) / sentences.length;
    const short = corpus.filter((s) => [...s].length <= 8).slice(0, 1500);
    expect(mean(long)).toBeGreaterThan(mean(short) + 1);
  });
});

describe('ErrorGenerator: sentences that cannot be corrupted become counted positives', () => {
  const confusion = ConfusionSet.fromRecord({ 的: '得' });
  it.each([
    { text: '好', config: { min_sentence_length: 2 }, reason: 'too_short' },
    { text: '你好吗', config: { pi_skip: 0, pi_multiply: 0 }, reason: 'no_confusable' },
    { text: 'abc 123', config: {}, reason: 'no_eligible_position' },
    { text: '哈哈哈', config: {}, reason: 'no_eligible_position' }, // runs: indels ambiguous
  ])('"$text" → $reason', ({ text, config, reason }) => {
    const c = new ErrorGenerator(config, confusion).corruptWithType(text, new Rng(1));
    expect(c).toEqual({ source: text, target: text, edits: [], uncorruptible: reason });
  });

  it('replace-only uses the one confusable char; a positive labels as all KEEP', () => {
    const generator = new ErrorGenerator({ pi_skip: 0, pi_multiply: 0 }, confusion);
    const c = generator.corruptWithType('我的书', new Rng(1));
    expect(c.source).toBe('我得书');
    expect(c.edits).toEqual([{ type: 'replace', position: 1, char: '的', replacement: '得' }]);
    const positive = generator.toExample({ source: '我的书', target: '我的书', edits: [] });
    expect(positive.ok && positive.example.op_labels).toEqual([0, 0, 0, 0]);
    expect(positive.ok && positive.example.template_tokens).toEqual(['我', '的', '书']);
  });

  it('a one-char sentence is never emptied by a skip', () => {
    const generator = new ErrorGenerator({ pi_replace: 0, min_sentence_length: 1 }, confusion);
    for (let i = 0; i < 50; i++) expect(generator.corruptWithType('好', Rng.derive(1, i)).source).toMatch(/^好{2,4}$/);
  });

  it('refuses all-zero weights at construction, naming the function', () => {
    expect(() => new ErrorGenerator({ pi_skip: 0, pi_multiply: 0, pi_replace: 0 }, confusion)).toThrow(
      'ErrorGenerator: invalid synthesis config: pi_skip + pi_multiply + pi_replace must be > 0, got 0',
    );
  });

  it('toExample reports (not throws) an insertion run longer than maxInsertK', () => {
    const generator = new ErrorGenerator({}, confusion);
    const c: Corruption = { source: '我书', target: '我的书', edits: [{ type: 'skip', position: 1, char: '的' }] };
    expect(generator.toExample(c).ok).toBe(true);
    const result = generator.toExample(c, { maxInsertK: 0 });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/^insert_too_long/);
  });
});
