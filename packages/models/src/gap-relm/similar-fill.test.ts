import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MASK_TOKEN } from '@proj/align';
import type { GapRelmDecodeConfig, InfillerBatch } from '@proj/sampling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { exportGapRelmOnnx, OnnxGapRelm, writeGapRelmServingDir } from '../onnx-runtime/gap-relm-onnx';
import { ConfusionSet } from '@proj/data-synth';
import { GAP_RELM_CONFIG_FILE, GapRelmCodec, SIMILAR_CHARS_FILE } from './codec';
import { parseGapRelmConfig } from './config';
import { GapRelm } from './gap-relm';
import { charTokenizer, corpusSentences, TINY } from './testing';

// Random weights and low thresholds: the decode makes REPLACE decisions for the bonus to act on.
const LOW: Partial<GapRelmDecodeConfig> = { deleteThreshold: 0.3, replaceThreshold: 0.3, insertThreshold: 0.3 };
const BONUS = 5;

let sentences: string[];
/** Each sentence's characters, when none repeats (so a template aligns to its source one way). */
let distinct: string[][];
/** A character is similar to the next two characters of the first sentence it is in, and to 龘 (not in the vocabulary). */
let similar: ConfusionSet;
let plain: GapRelm;
let withBonus: GapRelm;
let V: number;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  sentences = corpusSentences(24, 8, 14);
  distinct = sentences.map((s) => [...s]).filter((s) => new Set(s).size === s.length);
  expect(distinct.length).toBeGreaterThanOrEqual(3);
  const table: Record<string, string[]> = {};
  for (const chars of distinct) chars.forEach((c, i) => (table[c] ??= [...chars.slice(i + 1, i + 3), '龘']));
  similar = ConfusionSet.fromRecord(table);
  const tokenizer = charTokenizer(sentences);
  plain = GapRelm.create(TINY, tokenizer, 7);
  withBonus = GapRelm.create({ ...TINY, similar_fill_bonus: BONUS }, tokenizer, 7, similar);
  V = plain.bertConfig.vocabSize;
});

afterAll(() => {
  plain?.dispose();
  withBonus?.dispose();
});

describe('similar_fill_bonus config', () => {
  it('defaults to 0 (off) and must be a finite number >= 0', () => {
    expect(parseGapRelmConfig({}).similar_fill_bonus).toBe(0);
    expect(parseGapRelmConfig({ similar_fill_bonus: 12 }).similar_fill_bonus).toBe(12);
    expect(() => parseGapRelmConfig({ similar_fill_bonus: -1 })).toThrow(/similar_fill_bonus/);
    expect(() => parseGapRelmConfig({ similar_fill_bonus: Infinity })).toThrow(/similar_fill_bonus/);
  });

  it('a bonus without a similar-character table is an error naming the file it would come from', () => {
    expect(() => GapRelmCodec.forModel(withBonus.config, withBonus.tokenizer, withBonus.bertConfig)).toThrow(
      `GapRelmCodec: similar_fill_bonus is ${BONUS} but the model has no similar-character table (similar_chars.json)`,
    );
    expect(() => GapRelm.create({ ...TINY, similar_fill_bonus: 1 }, withBonus.tokenizer, 7)).toThrow(/no similar-character table/);
  });
});

describe('GapRelmCodec.infillerSource with similar_fill_bonus', () => {
  it("adds the bonus to a replacing mask's row at its source token and that token's similar characters; inserted masks and other columns are unchanged", async () => {
    const sourceTokens = distinct.slice(0, 3);
    // Replace token 1, insert a mask after token 3, delete token 5.
    const templates = sourceTokens.map((s) => [s[0], MASK_TOKEN, s[2], s[3], MASK_TOKEN, s[4], ...s.slice(6)]);
    const input: InfillerBatch = { sourceTokens, templates, maskPositions: templates.map(() => [1, 4]) };
    // Same weights (same seed), so the rows differ by the bonus alone.
    const off = await plain.infillerSource().fill(input);
    const on = await withBonus.infillerSource().fill(input);
    const ids = withBonus.codec.infiller.ids;
    for (let b = 0; b < sourceTokens.length; b++) {
      const s = sourceTokens[b];
      const boosted = new Set(ids.ids([s[1], ...similar.get(s[1])]));
      expect(boosted.size).toBeGreaterThan(1);
      for (let v = 0; v < V; v++) {
        const [before, after] = [off.logits[b][v], on.logits[b][v]];
        if (before === -Infinity) expect(after).toBe(-Infinity);
        else expect(after - before).toBeCloseTo(boosted.has(v) ? BONUS : 0, 4);
        // The inserted mask (row 1) stands on no source token.
        expect(on.logits[b][V + v]).toBe(off.logits[b][V + v]);
      }
    }
  });

  it('with a large bonus every replaced character is filled by itself or a similar one', async () => {
    const tokenizer = withBonus.tokenizer;
    const strong = GapRelm.create({ ...TINY, similar_fill_bonus: 1000 }, tokenizer, 7, similar);
    try {
      // Replacements only, so each template aligns to its source one way (every character has a table entry).
      const corrections = await strong.correct(distinct.map((s) => s.join('')), { replaceThreshold: 0.3, noInsert: true, noDelete: true });
      let replaced = 0;
      for (const c of corrections) {
        for (const edit of c.edits) {
          if (edit.kind !== 'replace') continue;
          replaced++;
          expect(similar.get(edit.from)).toContain(edit.to);
        }
      }
      expect(replaced).toBeGreaterThan(0);
    } finally {
      strong.dispose();
    }
  });
});

describe('similar_chars.json', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gap-relm-similar-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is saved with the model and loaded back: same table, same corrections (tfjs and onnxruntime, also from a serving directory)', async () => {
    const saved = join(dir, 'model');
    await withBonus.save(saved);
    expect((await ConfusionSet.load({ path: join(saved, SIMILAR_CHARS_FILE), format: 'json' })).toJSON()).toEqual(similar.toJSON());
    const loaded = await GapRelm.load(saved);
    const expected = await withBonus.correct(sentences, LOW);
    try {
      expect(loaded.similarChars?.toJSON()).toEqual(similar.toJSON());
      expect(await loaded.correct(sentences, LOW)).toEqual(expected);
      await exportGapRelmOnnx(saved);
      const serving = join(dir, 'serving');
      expect(await writeGapRelmServingDir(saved, serving)).toContain(SIMILAR_CHARS_FILE);
      const onnx = await OnnxGapRelm.load(serving, { executionProviders: ['cpu'] });
      try {
        expect((await onnx.correct(sentences, LOW)).map((c) => c.corrected)).toEqual(expected.map((c) => c.corrected));
      } finally {
        await onnx.release();
      }
    } finally {
      loaded.dispose();
    }
    // A model without a bonus writes no table.
    await plain.save(join(dir, 'plain'));
    expect(existsSync(join(dir, 'plain', SIMILAR_CHARS_FILE))).toBe(false);
  });

  it('a saved bonus without the file, or a malformed file, is one error naming the file', async () => {
    const saved = join(dir, 'broken');
    await withBonus.save(saved);
    const table = join(saved, SIMILAR_CHARS_FILE);
    await writeFile(table, '{"好": 3}');
    await expect(GapRelm.load(saved)).rejects.toThrow(`${table} (field "好"): value must be a string or an array of one-character strings`);
    await writeFile(table, '["好"]');
    await expect(GapRelmCodec.fromDirectory(saved)).rejects.toThrow(`${table}: expected a JSON object {char: [chars] | "chars"}`);
    await rm(table);
    await expect(GapRelmCodec.fromDirectory(saved)).rejects.toThrow(
      `GapRelmCodec.fromDirectory: ${join(saved, GAP_RELM_CONFIG_FILE)} has similar_fill_bonus ${BONUS} but ${saved} has no similar_chars.json`,
    );
  });

  it('is the {char: "chars"} JSON of ConfusionSet.toJSON', async () => {
    const saved = join(dir, 'shape');
    await withBonus.save(saved);
    expect(JSON.parse(await readFile(join(saved, SIMILAR_CHARS_FILE), 'utf8'))).toEqual(similar.toJSON());
    expect(Object.values(similar.toJSON()).every((chars) => typeof chars === 'string')).toBe(true);
  });
});
