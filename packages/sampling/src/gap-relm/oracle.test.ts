import { DEFAULT_MAX_INSERT_K, buildExample } from '@proj/align';
import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { correct } from './correct';
import { applyEdits, oracleSources } from './fake-sources';

// CJK, ASCII, punctuation and non-BMP chars (one code point, two UTF-16 units).
const ALPHABET = Array.from('的一是了我不人在他有这个上们来到时大地为子中你说生国年着就那和要她出也得里后自以会家可下而过天去能对小多然于心学么之都好看起发当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间斯知世什两次使身者被高已亲其进此话常与活正感abcXYZ09，。！？𠀀𠀁𠀂😀');

function randomPair(rng: Rng): { source: string; target: string } {
  const source = Array.from({ length: rng.int(21) }, () => rng.pick(ALPHABET));
  const target: string[] = [];
  const insert = () => {
    // Up to K + 1 chars, so some pairs exceed maxInsertK and are rejected, as in real data.
    if (rng.bernoulli(0.12)) for (let k = rng.intBetween(1, DEFAULT_MAX_INSERT_K + 1); k > 0; k--) target.push(rng.pick(ALPHABET));
  };
  insert();
  for (const ch of source) {
    const u = rng.float();
    if (u < 0.7) target.push(ch);
    else if (u < 0.85) target.push(rng.pick(ALPHABET));
    // else: deleted
    insert();
  }
  return { source: source.join(''), target: target.join('') };
}

function seededPairs(seed: number, count: number) {
  const rng = new Rng(seed);
  const bySource = new Map<string, { source: string; target: string }>();
  while (bySource.size < count) {
    const pair = randomPair(rng);
    // One gold target per source (the oracle looks sources up), and only representable pairs.
    if (!bySource.has(pair.source) && buildExample(pair.source, pair.target).ok) bySource.set(pair.source, pair);
  }
  return [...bySource.values()];
}

describe('correct with an oracle planner and infiller', () => {
  const pairs = seededPairs(20261126, 400);

  it('the seeded pairs cover the cases that matter', () => {
    const examples = pairs.map((p) => {
      const r = buildExample(p.source, p.target);
      if (!r.ok) throw new Error(r.reason);
      return r.example;
    });
    expect(examples.filter((e) => e.op_labels.includes(1)).length).toBeGreaterThan(50);
    expect(examples.filter((e) => e.op_labels.includes(2)).length).toBeGreaterThan(50);
    expect(examples.filter((e) => e.insert_labels[0] > 0).length).toBeGreaterThan(10);
    expect(examples.filter((e) => e.insert_labels.some((k) => k === DEFAULT_MAX_INSERT_K)).length).toBeGreaterThan(5);
    expect(pairs.filter((p) => /[\u{10000}-\u{10FFFF}]/u.test(p.source + p.target)).length).toBeGreaterThan(50);
    expect(pairs.filter((p) => p.source === p.target).length).toBeGreaterThan(5);
    expect(pairs.some((p) => p.source === '')).toBe(true);
  });

  it.each([
    { batchSize: 32, refinementRounds: 0 },
    { batchSize: 7, refinementRounds: 2 },
  ])('reproduces every target exactly, with edits that rebuild it (%j)', async (config) => {
    const { planner, infiller } = oracleSources(pairs);
    const results = await correct(
      pairs.map((p) => p.source),
      { planner, infiller, config },
    );
    results.forEach((r, i) => {
      const { source, target } = pairs[i];
      expect(r.source).toBe(source);
      expect(r.corrected).toBe(target);
      expect(applyEdits(source, r.edits)).toBe(target);
      // As many edits as the minimal alignment, counting each inserted char.
      const example = buildExample(source, target);
      const edited = r.edits.reduce((n, e) => n + (e.kind === 'insert' ? Array.from(e.to).length : 1), 0);
      expect(example.ok && example.edits).toBe(edited);
      for (const e of r.edits) expect(e.confidence).toBeGreaterThan(0.4);
    });
  });
});
