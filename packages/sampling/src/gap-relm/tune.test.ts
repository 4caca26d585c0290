import { Rng } from '@proj/core';
import { cgecScore, cscMetrics } from '@proj/metrics';
import { describe, expect, it } from 'vitest';
import { correct } from './correct';
import { ruleInfiller, tablePlanner, type SentenceTable } from './fake-sources';
import type { InfillerLogitsSource, PlannerLogitsSource } from './logits-source';
import { tuneThresholds } from './tune';

const VOCAB = ['[UNK]', '[MASK]', '们', '的'];

describe('tuneThresholds: equal-length dev set (sentence-level CSC correction)', () => {
  // Each source has its error (or false alarm) at token 1 = slot 2; the infiller always says 们.
  const dev = [
    { source: '我门去', target: '我们去', pReplace: 0.8 },
    { source: '他门来', target: '他们来', pReplace: 0.45 },
    { source: '大门开', target: '大门开', pReplace: 0.35 }, // correct: replacing 门 by 们 is a false alarm
    { source: '你门好', target: '你们好', pReplace: 0.25 },
    { source: '天汽好', target: '天气好', pReplace: 0.01 }, // an error the planner misses
  ];
  const tables: Record<string, SentenceTable> = Object.fromEntries(
    dev.map((d) => [d.source, { op: { 2: [1 - d.pReplace - 0.001, 0.001, d.pReplace] } }]),
  );
  const grid = { deleteThreshold: [0.5], insertThreshold: [0.5], replaceThreshold: [0.2, 0.3, 0.4, 0.5, 0.9] };
  // Gold sentences with errors: 4. By hand, per replace threshold:
  //   0.2: fixes 我/他/你, false alarm 大 → TP 3 FP 1 FN 1, P 3/4 R 3/4: F2 0.75, F0.5 0.75
  //   0.3: fixes 我/他, false alarm 大   → TP 2 FP 1 FN 2, P 2/3 R 1/2: F2 (5·1/3)/(8/3+1/2) = 10/19, F0.5 (1.25·1/3)/(1/6+1/2) = 0.625
  //   0.4: fixes 我/他                   → TP 2 FP 0 FN 2, P 1 R 1/2:   F2 2.5/4.5 = 5/9, F0.5 0.625/0.75 = 5/6
  //   0.5: fixes 我                      → TP 1 FP 0 FN 3, P 1 R 1/4:   F2 1.25/4.25 = 5/17, F0.5 0.3125/0.5 = 0.625
  //   0.9: nothing                       → TP 0 FP 0 FN 4: 0
  const f2 = [0.75, 10 / 19, 5 / 9, 5 / 17, 0];
  const f05 = [0.75, 0.625, 5 / 6, 0.625, 0];

  function sources() {
    const planner = tablePlanner(tables);
    const infiller = ruleInfiller(VOCAB, () => ({ 们: 0.9 }));
    return { ...planner, plannerCalls: planner.calls, infiller: infiller.infiller, infillerCalls: infiller.calls };
  }

  it('F2 picks the recall-friendly threshold the hand computation says is best', async () => {
    const s = sources();
    const result = await tuneThresholds(dev, { planner: s.planner, infiller: s.infiller, grid, config: { batchSize: 2 } });
    expect(result.metric).toBe('csc-sentence');
    expect(result.beta).toBe(2);
    expect(result.rows.map((r) => r.replaceThreshold)).toEqual(grid.replaceThreshold);
    expect(result.rows.map((r) => r.score)).toEqual(f2.map((f) => expect.closeTo(f, 12)));
    expect(result.rows.map((r) => [r.cscSentence.tp, r.cscSentence.fp, r.cscSentence.fn])).toEqual([
      [3, 1, 1],
      [2, 1, 2],
      [2, 0, 2],
      [1, 0, 3],
      [0, 0, 4],
    ]);
    expect(result.best.replaceThreshold).toBe(0.2);
    expect(result.bestConfig).toMatchObject({ deleteThreshold: 0.5, insertThreshold: 0.5, replaceThreshold: 0.2, batchSize: 2 });
    // The planner ran once over the dev set (3 batches of at most 2), not once per threshold.
    expect(s.plannerCalls.map((c) => c.length)).toEqual([2, 2, 1]);
    // Four sentences ever get a masked template, each filled once although several thresholds produce it.
    expect(result.templatesFilled).toBe(4);
    expect(s.infillerCalls.flatMap((c) => c.templates).length).toBe(4);
  });

  it('F0.5 picks the precision-friendly threshold', async () => {
    const s = sources();
    const result = await tuneThresholds(dev, { planner: s.planner, infiller: s.infiller, grid, beta: 0.5 });
    expect(result.rows.map((r) => r.score)).toEqual(f05.map((f) => expect.closeTo(f, 12)));
    expect(result.best.replaceThreshold).toBe(0.4);
  });
});

describe('tuneThresholds: insertions and deletions (char-edit F-beta)', () => {
  const dev = [
    { source: '我们们去', target: '我们去' }, // delete the 们 at code point 2 (slot 3)
    { source: '他去', target: '他们去' }, // insert 们 after 他 (slot 1)
    { source: '好的', target: '好的' }, // correct; deleting 的 (slot 2) is a false alarm
  ];
  const tables: Record<string, SentenceTable> = {
    '我们们去': { op: { 3: [0.39, 0.6, 0.01] } },
    '他去': { insert: { 1: [0.3, 0.7, 0, 0] } },
    '好的': { op: { 2: [0.59, 0.4, 0.01] } },
  };
  const grid = { deleteThreshold: [0.3, 0.5, 0.7], insertThreshold: [0.5, 0.8], replaceThreshold: [0.5] };

  it('scores span edits and picks the triple with the best F2 (hand-computed)', async () => {
    const { planner } = tablePlanner(tables);
    const { infiller } = ruleInfiller(VOCAB, () => ({ 们: 0.9 }));
    const result = await tuneThresholds(dev, { planner, infiller, grid });
    expect(result.metric).toBe('char-edit');
    // Gold edits: (2,3,'') and (1,1,'们'). Rows are delete-major, then insert.
    const expected = [
      { d: 0.3, i: 0.5, counts: [2, 1, 0], f2: (5 * (2 / 3)) / (4 * (2 / 3) + 1) },
      { d: 0.3, i: 0.8, counts: [1, 1, 1], f2: 0.5 },
      { d: 0.5, i: 0.5, counts: [2, 0, 0], f2: 1 },
      { d: 0.5, i: 0.8, counts: [1, 0, 1], f2: 5 / 9 },
      { d: 0.7, i: 0.5, counts: [1, 0, 1], f2: 5 / 9 },
      { d: 0.7, i: 0.8, counts: [0, 0, 2], f2: 0 },
    ];
    expect(
      result.rows.map((r) => ({ d: r.deleteThreshold, i: r.insertThreshold, counts: [r.charEdit.tp, r.charEdit.fp, r.charEdit.fn], f2: r.score })),
    ).toEqual(expected.map((e) => ({ ...e, f2: expect.closeTo(e.f2, 12) })));
    expect([result.best.deleteThreshold, result.best.insertThreshold, result.best.replaceThreshold]).toEqual([0.5, 0.5, 0.5]);
  });

  it('on ties keeps the first row in grid order', async () => {
    const { planner } = tablePlanner(tables);
    const { infiller } = ruleInfiller(VOCAB, () => ({ 们: 0.9 }));
    const result = await tuneThresholds(dev, { planner, infiller, grid: { deleteThreshold: [0.5, 0.55], insertThreshold: [0.5], replaceThreshold: [0.5] } });
    expect(result.rows.map((r) => r.score)).toEqual([1, 1]);
    expect(result.best).toBe(result.rows[0]);
  });
});

describe('tuneThresholds agrees with correct + @proj/metrics on every row', () => {
  const hash = (text: string) => Array.from(text).reduce((h, c) => (Math.imul(h, 31) + c.codePointAt(0)!) | 0, 7) >>> 0;
  const chars = Array.from('我们他门的地得在再做作是事');
  // Seeded noisy models: outputs depend only on the input, as tuning's caches require.
  const planner: PlannerLogitsSource = {
    async plan({ sourceTokens }) {
      const logits = (tokens: readonly string[], width: number) => {
        const rng = Rng.derive(1, hash(tokens.join('')), width);
        return Float32Array.from({ length: (tokens.length + 1) * width }, (_, i) => (i % width === 0 ? 1.5 : 0) + rng.normal());
      };
      return { opLogits: sourceTokens.map((t) => logits(t, 3)), insertLogits: sourceTokens.map((t) => logits(t, 3)) };
    },
  };
  const vocab = ['[UNK]', ...chars];
  const infiller: InfillerLogitsSource = {
    vocab,
    async fill({ templates, maskPositions }) {
      return {
        logits: templates.map((template, b) => {
          const rng = Rng.derive(2, hash(template.join('|')));
          return Float32Array.from({ length: maskPositions[b].length * vocab.length }, () => rng.normal());
        }),
      };
    },
  };
  const rng = new Rng(3);
  const dev = Array.from({ length: 40 }, () => {
    const source = Array.from({ length: 1 + rng.int(8) }, () => rng.pick(chars));
    const target = source.flatMap((c) => (rng.bernoulli(0.1) ? [] : rng.bernoulli(0.15) ? [rng.pick(chars)] : [c]));
    return { source: source.join(''), target: target.join('') };
  });
  const grid = { deleteThreshold: [0.2, 0.5], insertThreshold: [0.2, 0.6], replaceThreshold: [0.15, 0.3, 0.6] };

  it('same counts as scoring the outputs of correct with that row\'s thresholds', async () => {
    const result = await tuneThresholds(dev, { planner, infiller, grid, config: { batchSize: 8, refinementRounds: 1 } });
    expect(result.metric).toBe('char-edit');
    // The models are noisy enough that the rows differ, so the comparison means something.
    expect(new Set(result.rows.map((r) => `${r.charEdit.tp}/${r.charEdit.fp}/${r.charEdit.fn}`)).size).toBeGreaterThan(4);
    const sources = dev.map((d) => d.source);
    const targets = dev.map((d) => d.target);
    for (const row of result.rows) {
      const config = { ...result.bestConfig, deleteThreshold: row.deleteThreshold, insertThreshold: row.insertThreshold, replaceThreshold: row.replaceThreshold };
      const preds = (await correct(sources, { planner, infiller, config })).map((r) => r.corrected);
      expect(row.cscSentence).toEqual(cscMetrics(sources, targets, preds).sentence.correction);
      const cgec = cgecScore(sources, preds, targets.map((t) => [t]), { beta: 2 });
      expect([row.charEdit.tp, row.charEdit.fp, row.charEdit.fn]).toEqual([cgec.tp, cgec.fp, cgec.fn]);
    }
    expect(result.best.score).toBe(Math.max(...result.rows.map((r) => r.score)));
  });
});

describe('tuneThresholds: errors', () => {
  const { planner } = tablePlanner({});
  const { infiller } = ruleInfiller(VOCAB, () => ({}));
  const dev = [{ source: '好', target: '好' }];
  it.each([
    [[], {}, 'tuneThresholds: dev must be a non-empty array of {source, target}'],
    [[{ source: '好' }], {}, 'tuneThresholds: dev[0] must have string source and target'],
    [dev, { grid: { deleteThreshold: [0.5, 1.5] } }, 'tuneThresholds: grid.deleteThreshold[1] must be in [0, 1], got 1.5'],
    [dev, { grid: { insertThreshold: [] } }, 'tuneThresholds: grid.insertThreshold must be a non-empty array, got []'],
    [dev, { beta: 0 }, 'tuneThresholds: beta must be a finite number > 0, got 0'],
    [dev, { metric: 'bleu' }, "tuneThresholds: metric must be 'auto', 'csc-sentence' or 'char-edit', got bleu"],
    [dev, { config: { refinementRounds: -2 } }, 'tuneThresholds: refinementRounds must be an integer >= 0, got -2'],
  ])('%#', async (pairs, options, message) => {
    await expect(tuneThresholds(pairs as never, { planner, infiller, ...options } as never)).rejects.toThrow(message);
  });
});
