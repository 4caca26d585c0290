import { describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { naiveLevenshtein } from '../test/naive-dp';
import { ALPHABETS, randomPair } from '../test/random-pairs';
import { alignTokens, levenshtein } from './align-tokens';
import { buildExample, labelsFromAlignment, rejectCode } from './labels';
import { buildTemplate, fillTemplate } from './template';
import { tokenize } from './tokenize';
import { DEFAULT_MAX_INSERT_K, MASK_TOKEN, PlannerOp, type AlignStep, type LabelResult, type PrecomputedExample } from './types';

const M = MASK_TOKEN;

function expectOk(result: LabelResult): { example: PrecomputedExample; edits: number } {
  if (!result.ok) throw new Error(`expected ok, got reject: ${result.reason}`);
  return result;
}

/** Insert steps after each source slot (slot 0 = sentence start), counted from the steps. */
function insertRuns(steps: readonly AlignStep[]): Map<number, number> {
  const perSlot = new Map<number, number>();
  let slot = 0;
  for (const step of steps) {
    if (step.op === 'insert') perSlot.set(slot, (perSlot.get(slot) ?? 0) + 1);
    else slot = step.source + 1;
  }
  return perSlot;
}

/** Every invariant of a labelled example, checked against the pair it came from. */
function checkExample(source: string, target: string, example: PrecomputedExample, edits: number, groupAsciiAlnum: boolean, maxInsertK: number) {
  const src = tokenize(source, { groupAsciiAlnum });
  const tgt = tokenize(target, { groupAsciiAlnum });
  expect(example.source).toBe(source);
  expect(example.target).toBe(target);
  expect(example.op_labels).toHaveLength(src.length + 1);
  expect(example.insert_labels).toHaveLength(src.length + 1);
  expect(example.op_labels[0]).toBe(PlannerOp.KEEP);
  for (const k of example.insert_labels) expect(k).toBeLessThanOrEqual(maxInsertK);
  // The template filled with the gold tokens is the target, exactly.
  expect(fillTemplate(example.template_tokens, example.gold_tokens).join('')).toBe(target);
  // The labels alone rebuild the template.
  expect(buildTemplate(src, example.op_labels, example.insert_labels)).toEqual({
    template_tokens: example.template_tokens,
    mask_positions: example.mask_positions,
  });
  for (const p of example.mask_positions) expect(example.template_tokens[p]).toBe(M);
  expect(example.mask_positions).toHaveLength(example.gold_tokens.length);
  // Edits are minimal: the same as an independent textbook DP.
  expect(edits).toBe(levenshtein(src, tgt));
  expect(edits).toBe(naiveLevenshtein(src, tgt));
  const deletes = example.op_labels.filter((op) => op === PlannerOp.DELETE).length;
  const replaces = example.op_labels.filter((op) => op === PlannerOp.REPLACE).length;
  const inserts = example.insert_labels.reduce((a, b) => a + b, 0);
  expect(deletes + replaces + inserts).toBe(edits);
  expect(replaces + inserts).toBe(example.gold_tokens.length);
}

describe('buildExample (hand-checked)', () => {
  it.each([
    {
      name: 'one replace (SIGHAN-15 A2-0023-1)',
      source: '我朋唷',
      target: '我朋友',
      op: [0, 0, 0, 2],
      ins: [0, 0, 0, 0],
      template: ['我', '朋', M],
      gold: ['友'],
      masks: [2],
      edits: 1,
    },
    {
      name: 'skipped character',
      source: '我友',
      target: '我朋友',
      op: [0, 0, 0],
      ins: [0, 1, 0],
      template: ['我', M, '友'],
      gold: ['朋'],
      masks: [1],
      edits: 1,
    },
    {
      name: 'duplicated character',
      source: '我我朋友',
      target: '我朋友',
      op: [0, 0, 1, 0, 0],
      ins: [0, 0, 0, 0, 0],
      template: ['我', '朋', '友'],
      gold: [],
      masks: [],
      edits: 1,
    },
    {
      name: 'insertion at start',
      source: '朋友',
      target: '我朋友',
      op: [0, 0, 0],
      ins: [1, 0, 0],
      template: [M, '朋', '友'],
      gold: ['我'],
      masks: [0],
      edits: 1,
    },
    {
      name: 'deletion at end',
      source: '我朋友了',
      target: '我朋友',
      op: [0, 0, 0, 0, 1],
      ins: [0, 0, 0, 0, 0],
      template: ['我', '朋', '友'],
      gold: [],
      masks: [],
      edits: 1,
    },
    {
      name: 'insertion of exactly maxInsertK',
      source: '我',
      target: '我们俩好',
      op: [0, 0],
      ins: [0, 3],
      template: ['我', M, M, M],
      gold: ['们', '俩', '好'],
      masks: [1, 2, 3],
      edits: 3,
    },
    { name: 'both empty', source: '', target: '', op: [0], ins: [0], template: [], gold: [], masks: [], edits: 0 },
    { name: 'empty source', source: '', target: '𠀀𝒳', op: [0], ins: [2], template: [M, M], gold: ['𠀀', '𝒳'], masks: [0, 1], edits: 2 },
    { name: 'empty target', source: '𠀀a', target: '', op: [0, 1, 1], ins: [0, 0, 0], template: [], gold: [], masks: [], edits: 2 },
    { name: 'non-BMP replace', source: '𠀀a', target: '𝒳a', op: [0, 2, 0], ins: [0, 0, 0], template: [M, 'a'], gold: ['𝒳'], masks: [0], edits: 1 },
  ])('$name', ({ source, target, op, ins, template, gold, masks, edits }) => {
    const result = expectOk(buildExample(source, target));
    expect(result.example).toEqual({
      source,
      target,
      op_labels: op,
      insert_labels: ins,
      template_tokens: template,
      gold_tokens: gold,
      mask_positions: masks,
    });
    expect(result.edits).toBe(edits);
  });

  it('writes the JSONL fields in the contract order', () => {
    expect(Object.keys(expectOk(buildExample('a', 'b')).example)).toEqual([
      'source',
      'target',
      'op_labels',
      'insert_labels',
      'template_tokens',
      'gold_tokens',
      'mask_positions',
    ]);
  });

  it('replaces a whole ASCII word with one mask when grouping', () => {
    const result = expectOk(buildExample('I like NLP', 'I love NLP', { groupAsciiAlnum: true }));
    expect(result.example.template_tokens).toEqual(['I', ' ', M, ' ', 'NLP']);
    expect(result.example.gold_tokens).toEqual(['love']);
    expect(result.edits).toBe(1);
  });

  it('rejects an insertion run longer than maxInsertK with a coded reason', () => {
    expect(buildExample('我', '我们俩好吗')).toEqual({ ok: false, reason: 'insert_too_long: 4 tokens after slot 1 > maxInsertK=3' });
    expect(buildExample('ab', 'a12b', { maxInsertK: 1 })).toEqual({ ok: false, reason: 'insert_too_long: 2 tokens after slot 1 > maxInsertK=1' });
    expect(expectOk(buildExample('ab', 'a12b', { maxInsertK: 2 })).edits).toBe(2);
    expect(buildExample('', 'x', { maxInsertK: 0 })).toEqual({ ok: false, reason: 'insert_too_long: 1 tokens after slot 0 > maxInsertK=0' });
  });

  it('names itself for bad options', () => {
    expect(() => buildExample('a', 'b', { maxInsertK: -1 })).toThrow(/buildExample: maxInsertK must be an integer >= 0, got -1/);
    expect(() => buildExample(1 as unknown as string, 'b')).toThrow(/buildExample: source must be a string, got number/);
    expect(DEFAULT_MAX_INSERT_K).toBe(3);
  });
});

describe('buildExample (properties over seeded random pairs)', () => {
  it('reconstructs the target, edits are minimal, rejects only long insertions', () => {
    const rng = new Rng(2024);
    let accepted = 0;
    let rejected = 0;
    for (let k = 0; k < 4000; k++) {
      const pair = randomPair(rng);
      const source = pair.source.join('');
      const target = pair.target.join('');
      const groupAsciiAlnum = rng.bernoulli(0.3);
      const maxInsertK = rng.int(5);
      const result = buildExample(source, target, { maxInsertK, groupAsciiAlnum });
      const steps = alignTokens(tokenize(source, { groupAsciiAlnum }), tokenize(target, { groupAsciiAlnum }));
      if (result.ok) {
        accepted++;
        for (const n of insertRuns(steps).values()) expect(n).toBeLessThanOrEqual(maxInsertK);
        checkExample(source, target, result.example, result.edits, groupAsciiAlnum, maxInsertK);
      } else {
        rejected++;
        expect(rejectCode(result.reason)).toBe('insert_too_long');
        // The reason names the first slot whose run is too long, with its length.
        const runs = [...insertRuns(steps)].sort((a, b) => a[0] - b[0]);
        const [slot, length] = runs.find(([, n]) => n > maxInsertK)!;
        expect(result.reason).toBe(`insert_too_long: ${length} tokens after slot ${slot} > maxInsertK=${maxInsertK}`);
      }
      // With room for any insertion, nothing is rejected.
      const roomy = buildExample(source, target, { maxInsertK: 1000, groupAsciiAlnum });
      checkExample(source, target, expectOk(roomy).example, expectOk(roomy).edits, groupAsciiAlnum, 1000);
    }
    // Both branches must really have run for the properties to mean anything.
    expect(accepted).toBeGreaterThan(2000);
    expect(rejected).toBeGreaterThan(100);
  });

  it('is deterministic', () => {
    const rng = new Rng(5);
    for (let k = 0; k < 200; k++) {
      const { source, target } = randomPair(rng);
      expect(buildExample(source.join(''), target.join(''))).toEqual(buildExample(source.join(''), target.join('')));
    }
  });
});

/** A random valid alignment (not necessarily minimal): a random walk through the edit graph. */
function randomAlignment(rng: Rng, source: string[], target: string[]): AlignStep[] {
  const steps: AlignStep[] = [];
  let i = 0;
  let j = 0;
  while (i < source.length || j < target.length) {
    const choices: AlignStep['op'][] = [];
    if (i < source.length && j < target.length) choices.push(source[i] === target[j] ? 'keep' : 'replace', 'replace');
    if (i < source.length) choices.push('delete');
    if (j < target.length) choices.push('insert');
    const op = rng.pick(choices);
    if (op === 'keep' || op === 'replace') steps.push({ op, source: i++, target: j++ });
    else if (op === 'delete') steps.push({ op, source: i++ });
    else steps.push({ op, target: j++ });
  }
  return steps;
}

describe('labelsFromAlignment', () => {
  it('accepts any valid alignment and reconstructs the target', () => {
    const rng = new Rng(99);
    for (let k = 0; k < 2000; k++) {
      const { source, target } = randomPair(rng);
      const steps = randomAlignment(rng, source, target);
      const result = expectOk(labelsFromAlignment(source, target, steps, { maxInsertK: 1000 }));
      expect(fillTemplate(result.example.template_tokens, result.example.gold_tokens)).toEqual(target);
      expect(result.edits).toBe(steps.filter((s) => s.op !== 'keep').length);
      expect(result.edits).toBeGreaterThanOrEqual(levenshtein(source, target));
      expect(buildTemplate(source, result.example.op_labels, result.example.insert_labels).template_tokens).toEqual(result.example.template_tokens);
      expect(result.example.op_labels[0]).toBe(PlannerOp.KEEP);
    }
  });

  it('defaults source/target text to the joined tokens and honours overrides', () => {
    const ok = expectOk(labelsFromAlignment(['a'], ['b'], [{ op: 'replace', source: 0, target: 0 }]));
    expect([ok.example.source, ok.example.target]).toEqual(['a', 'b']);
    const named = expectOk(labelsFromAlignment(['a'], ['b'], [{ op: 'replace', source: 0, target: 0 }], { sourceText: 'A', targetText: 'B' }));
    expect([named.example.source, named.example.target]).toEqual(['A', 'B']);
  });

  it.each([
    { name: 'keep of different tokens', steps: [{ op: 'keep', source: 0, target: 0 }, { op: 'keep', source: 1, target: 1 }], reason: /^invalid_alignment: step 1 keeps source 1 "b" as target 1 "c"$/ },
    { name: 'skipped source token', steps: [{ op: 'keep', source: 0, target: 0 }, { op: 'insert', target: 1 }], reason: /^invalid_alignment: steps cover 1\/2 source and 2\/2 target tokens$/ },
    { name: 'out of order', steps: [{ op: 'delete', source: 1 }, { op: 'delete', source: 0 }], reason: /^invalid_alignment: step 0 \(delete\) has source 1, expected 0$/ },
    { name: 'target twice', steps: [{ op: 'keep', source: 0, target: 0 }, { op: 'replace', source: 1, target: 0 }], reason: /^invalid_alignment: step 1 \(replace\) has target 0, expected 1$/ },
    { name: 'past the end', steps: [{ op: 'keep', source: 0, target: 0 }, { op: 'replace', source: 1, target: 1 }, { op: 'delete', source: 2 }], reason: /^invalid_alignment: step 2 \(delete\) runs past the end/ },
    { name: 'unknown op', steps: [{ op: 'swap', source: 0, target: 0 }], reason: /^invalid_alignment: step 0 has unknown op "swap"$/ },
  ])('rejects an inconsistent alignment: $name', ({ steps, reason }) => {
    const result = labelsFromAlignment(['a', 'b'], ['a', 'c'], steps as AlignStep[]);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('rejects corrupted random alignments', () => {
    const rng = new Rng(3);
    let checked = 0;
    for (let k = 0; k < 500; k++) {
      const { source, target } = randomPair(rng);
      const steps = randomAlignment(rng, source, target);
      if (steps.length < 2) continue;
      const broken = steps.slice();
      broken.splice(rng.int(broken.length), 1); // drop one step
      const result = labelsFromAlignment(source, target, broken, { maxInsertK: 1000 });
      expect(result.ok).toBe(false);
      if (!result.ok) expect(rejectCode(result.reason)).toBe('invalid_alignment');
      checked++;
    }
    expect(checked).toBeGreaterThan(300);
  });

  it('rejects a source token that is [MASK] and a bad maxInsertK', () => {
    const result = labelsFromAlignment([M], [M], [{ op: 'keep', source: 0, target: 0 }]);
    expect(result).toEqual({ ok: false, reason: 'mask_in_source: source token 0 is [MASK]' });
    expect(() => labelsFromAlignment([], [], [], { maxInsertK: 1.5 })).toThrow(/labelsFromAlignment: maxInsertK must be an integer >= 0, got 1.5/);
  });

  it('uses every alphabet in the property tests', () => {
    // Guards the generator: non-BMP and ASCII alphabets must be present.
    expect(ALPHABETS.flat()).toEqual(expect.arrayContaining(['𠀀', '𝒳', 'a', '我']));
  });
});
