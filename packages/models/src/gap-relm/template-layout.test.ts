import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MASK_TOKEN, PlannerOp, buildTemplate } from '@proj/align';
import { Rng } from '@proj/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import * as ort from 'onnxruntime-node';
import { gapRelmToOnnx } from '../onnx/export';
import { OnnxGapRelm, exportGapRelmOnnx } from '../onnx-runtime/gap-relm-onnx';
import { GAP_RELM_CONFIG_FILE } from './codec';
import { TfOps } from '../ops/tf-ops';
import { parseGapRelmConfig } from './config';
import { GapRelm } from './gap-relm';
import { alignTemplateToSource, alignedTemplatePositions, firstTokenPosition, infillerInputs } from './inputs';
import { charTokenizer, corpusSentences, TINY } from './testing';

const MASK = -1; // a template id no source token has

/** A random source and planner labels, as ids, and the template buildTemplate makes of them. */
function randomCase(rng: Rng) {
  const n = 1 + rng.int(12);
  const source = Array.from({ length: n }, () => rng.int(6)); // few ids: many equal neighbours
  const ops = [PlannerOp.KEEP, ...source.map(() => [PlannerOp.KEEP, PlannerOp.KEEP, PlannerOp.DELETE, PlannerOp.REPLACE][rng.int(4)])];
  const inserts = ops.map(() => (rng.float() < 0.15 ? 1 + rng.int(2) : 0));
  const built = buildTemplate(source.map(String), ops, inserts);
  const template = built.template_tokens.map((t) => (t === MASK_TOKEN ? MASK : Number(t)));
  // What the labels' own alignment costs at the weights alignTemplateToSource uses (substitution 3, insertion / deletion 2).
  const labelCost = ops.reduce((c: number, op) => c + (op === PlannerOp.REPLACE ? 3 : op === PlannerOp.DELETE ? 2 : 0), 0) + 2 * inserts.reduce((a, b) => a + b, 0);
  return { source, ops, inserts, template, labelCost };
}

describe('alignTemplateToSource', () => {
  it('is the identity for a template that only replaces tokens (the CSC case)', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + rng.int(20);
      const source = Array.from({ length: n }, () => rng.int(5));
      const template = source.map((id) => (rng.float() < 0.3 ? MASK : id));
      expect(Array.from(alignTemplateToSource(source, template))).toEqual(source.map((_, i) => i));
    }
  });

  it('places insertions and deletions', () => {
    expect(Array.from(alignTemplateToSource([1, 2, 3], [1, MASK, 2, 3]))).toEqual([0, -1, 1, 2]);
    expect(Array.from(alignTemplateToSource([1, 2, 3], [1, 3]))).toEqual([0, 2]);
    expect(Array.from(alignTemplateToSource([1, 2, 3], [MASK, MASK, 1, 2, 3]))).toEqual([-1, -1, 0, 1, 2]);
    expect(Array.from(alignTemplateToSource([], [MASK]))).toEqual([-1]);
    expect(Array.from(alignTemplateToSource([1, 2], []))).toEqual([]);
    // A replaced token, an insertion and a deletion: equal tokens stay paired.
    expect(Array.from(alignTemplateToSource([7, 8, 9, 6], [7, MASK, MASK, 9]))).toEqual([0, 1, -1, 2]);
  });

  it('on random planner templates: monotone, no costlier than the labels\' own alignment', () => {
    const rng = new Rng(2);
    for (let trial = 0; trial < 500; trial++) {
      const { source, template, labelCost } = randomCase(rng);
      const aligned = Array.from(alignTemplateToSource(source, template));
      const onSource = aligned.filter((i) => i >= 0);
      onSource.forEach((i, k) => k > 0 && expect(i).toBeGreaterThan(onSource[k - 1]));
      // The alignment's cost: 3 per substitution, 2 per unaligned template or source token.
      let cost = 2 * (source.length - onSource.length) + 2 * aligned.filter((i) => i < 0).length;
      aligned.forEach((i, j) => {
        if (i >= 0 && source[i] !== template[j]) cost += 3;
      });
      expect(cost).toBeLessThanOrEqual(labelCost);
    }
  });
});

describe('alignedTemplatePositions and infillerInputs(aligned)', () => {
  it('puts each template token on its source token\'s position, insertions after their left neighbour', () => {
    expect(Array.from(alignedTemplatePositions([1, 2, 3], [1, MASK, 2, 3], 5))).toEqual([5, 6, 6, 7]);
    expect(Array.from(alignedTemplatePositions([1, 2, 3], [MASK, 1, 2, 3], 5))).toEqual([5, 5, 6, 7]);
    expect(Array.from(alignedTemplatePositions([1, 2, 3], [1, 3], 5))).toEqual([5, 7]);
    expect(Array.from(alignedTemplatePositions([1, 2, 3], [1, MASK, 3], 5))).toEqual([5, 6, 7]);
  });

  it('rows: [CLS] P source [SEP] at 0..; the template on the source\'s positions; the last [SEP] after it; padding 0', () => {
    const s = { cls: 100, sep: 101, pad: 0, firstPrompt: 200, prompts: 2 };
    const sources = [[7, 8, 9], [7]];
    const templates = [[7, MASK, 9], [MASK, 7]];
    const x = infillerInputs(sources, templates, [[1], [0]], true, s, { alignedPositions: true });
    const start = firstTokenPosition(s);
    expect(x.length).toBe(1 + 2 + 3 + 1 + 3 + 1);
    expect(Array.from(x.positionIds!.subarray(0, x.length))).toEqual([0, 1, 2, 3, 4, 5, 6, start, start + 1, start + 2, start + 3]);
    // Row 1: [CLS] P P 7 [SEP] [MASK] 7 [SEP] pad pad pad; the inserted mask before the source's first token.
    expect(Array.from(x.positionIds!.subarray(x.length))).toEqual([0, 1, 2, 3, 4, start, start, start + 1, 0, 0, 0]);
    // Ids, types, masks and mask positions are those of the sequential layout.
    const sequential = infillerInputs(sources, templates, [[1], [0]], true, s, {});
    expect(sequential.positionIds).toBeUndefined();
    expect({ ...x, positionIds: undefined }).toEqual({ ...sequential, positionIds: undefined });
    // Without the source there is nothing to align to.
    expect(infillerInputs(sources, templates, [[1], [0]], false, s, { alignedPositions: true }).positionIds).toBeUndefined();
  });
});

describe('infillerInputs(slotHints)', () => {
  it('a template token that replaces a source token carries it; kept and inserted tokens carry nothing; with or without the source segment', () => {
    const s = { cls: 100, sep: 101, pad: 0, firstPrompt: 200, prompts: 1 };
    // Source 7 8 9 6; template: keep 7, replace 8, insert one, keep 9, delete 6.
    const sources = [[7, 8, 9, 6]];
    const templates = [[7, MASK, MASK, 9]];
    for (const withSource of [true, false]) {
      const x = infillerInputs(sources, templates, [[1, 2]], withSource, s, { slotHints: true });
      const at = firstTokenPosition(s) + (withSource ? 5 : 0);
      const hinted = Array.from(x.hintMask!).flatMap((v, i) => (v === 1 ? [i] : []));
      expect(hinted).toEqual([at + 1]);
      expect(x.hintIds![at + 1]).toBe(8);
      expect(Array.from(x.hintIds!).filter((id) => id !== 0)).toEqual([8]);
      expect({ ...x, hintIds: undefined, hintMask: undefined }).toEqual({ ...infillerInputs(sources, templates, [[1, 2]], withSource, s), hintIds: undefined, hintMask: undefined });
    }
    expect(infillerInputs(sources, templates, [[1, 2]], true, s).hintIds).toBeUndefined();
  });
});

describe('GapRelm with infiller_positions aligned', () => {
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
  });

  it('needs the source in the infiller input; slot hints refuse kept-token masking (its hints would be the answers)', () => {
    expect(() => parseGapRelmConfig({ infiller_positions: 'aligned', infiller_input: 'template_only' })).toThrow(/infiller_positions 'aligned' needs infiller_input 'source_and_template'/);
    expect(() => parseGapRelmConfig({ slot_hint: 'source_token', template_mask_rate: 0.3 })).toThrow(/slot_hint 'source_token' cannot be combined with template_mask_rate 0.3/);
  });

  it('slot hints change the hinted masks\' logits; a zero hint mask gives the logits without hints', () => {
    const sentences = corpusSentences(8, 6, 12);
    const model = GapRelm.create({ ...TINY, slot_hint: 'source_token' }, charTokenizer(sentences), 5);
    try {
      const sources = sentences.slice(0, 3).map((t) => model.ids.ids([...t]));
      const templates = sources.map((s) => [s[0], model.tokenizer.maskId, ...s.slice(2)]);
      const x = model.infillerInputs(sources, templates, templates.map(() => [1]));
      expect(Array.from(x.hintMask!).filter((v) => v === 1)).toHaveLength(3);
      const ops = new TfOps(model.store);
      const logits = (inputs: typeof x) => tf.tidy(() => model.infiller(ops, GapRelm.tensors(inputs), tf.tensor1d(x.positions, 'int32')).dataSync() as Float32Array);
      const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      const without = logits({ ...x, hintIds: undefined, hintMask: undefined });
      expect(maxDiff(logits({ ...x, hintMask: new Float32Array(x.hintMask!.length) }), without)).toBeLessThan(1e-6);
      expect(maxDiff(logits(x), without)).toBeGreaterThan(1e-3);
    } finally {
      model.dispose();
    }
  });

  it('OnnxGapRelm.load: an infiller.onnx exported before the config asked for hints is one clear error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gap-relm-layout-'));
    const sentences = corpusSentences(8, 6, 12);
    const model = GapRelm.create(TINY, charTokenizer(sentences), 6);
    try {
      await model.save(dir);
      await exportGapRelmOnnx(dir);
      const configPath = join(dir, GAP_RELM_CONFIG_FILE);
      await writeFile(configPath, JSON.stringify({ ...JSON.parse(await readFile(configPath, 'utf8')), slot_hint: 'source_token' }));
      await expect(OnnxGapRelm.load(dir, { executionProviders: ['cpu'] })).rejects.toThrow(`OnnxGapRelm.load: ${join(dir, 'onnx', 'infiller.onnx')} has no hint_ids, hint_mask input, which the model's config asks for: it was exported before; re-export it with \`gap-relm export --model ${dir}\``);
    } finally {
      model.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('position ids 0..L-1 give the sequential logits; aligned ones change the mask\'s logits', () => {
    const sentences = corpusSentences(8, 6, 12);
    const model = GapRelm.create({ ...TINY, infiller_positions: 'aligned' }, charTokenizer(sentences), 3);
    try {
      const sources = sentences.slice(0, 3).map((t) => model.ids.ids([...t]));
      const templates = sources.map((s) => [s[0], model.tokenizer.maskId, ...s.slice(2)]);
      const aligned = model.infillerInputs(sources, templates, templates.map(() => [1]));
      expect(aligned.positionIds).toBeDefined();
      const ops = new TfOps(model.store);
      const logits = (positionIds: Int32Array | undefined) =>
        tf.tidy(() => {
          const t = GapRelm.tensors({ ...aligned, positionIds });
          return model.infiller(ops, t, tf.tensor1d(aligned.positions, 'int32')).dataSync() as Float32Array;
        });
      const arange = Int32Array.from({ length: aligned.batch * aligned.length }, (_, i) => i % aligned.length);
      const implicit = logits(undefined);
      const explicit = logits(arange);
      let worst = 0;
      implicit.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - explicit[i]))));
      expect(worst).toBeLessThan(1e-5);
      const moved = logits(aligned.positionIds);
      let diff = 0;
      implicit.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - moved[i]))));
      expect(diff).toBeGreaterThan(1e-3);
    } finally {
      model.dispose();
    }
  });

  it.each([
    ['aligned positions', { infiller_positions: 'aligned' }, ['position_ids']],
    ['slot hints', { slot_hint: 'source_token' }, ['hint_ids', 'hint_mask']],
    ['both', { infiller_positions: 'aligned', slot_hint: 'source_token' }, ['position_ids', 'hint_ids', 'hint_mask']],
  ] as const)('onnxruntime (%s): the infiller graph takes the layout\'s inputs and its logits equal tfjs\'s (templates with replacements, insertions, deletions)', async (_, layout, names) => {
    const sentences = corpusSentences(8, 8, 12);
    const model = GapRelm.create({ ...TINY, ...layout }, charTokenizer(sentences), 4);
    const onnx = await OnnxGapRelm.fromModel(model, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
    try {
      for (const name of names) expect(onnx.planner.inputNames).not.toContain(name);
      const infiller = await ort.InferenceSession.create((await gapRelmToOnnx(model)).infiller);
      expect([...infiller.inputNames].sort()).toEqual(['attention_mask', 'input_ids', 'mask_positions', 'token_type_ids', ...names].sort());
      await infiller.release();
      const sourceTokens = sentences.slice(0, 3).map((t) => [...t]);
      // Replace token 1, insert a mask after token 3, delete token 5.
      const templates = sourceTokens.map((s) => [s[0], MASK_TOKEN, s[2], s[3], MASK_TOKEN, s[4], ...s.slice(6)]);
      const input = { sourceTokens, templates, maskPositions: templates.map(() => [1, 4]) };
      const a = await model.infillerSource().fill(input);
      const b = await onnx.infillerSource().fill(input);
      for (let i = 0; i < 3; i++) {
        let worst = 0;
        a.logits[i].forEach((v, k) => {
          if (Number.isFinite(v)) worst = Math.max(worst, Math.abs(v - b.logits[i][k]));
          else expect(b.logits[i][k]).toBe(v);
        });
        expect(worst).toBeLessThan(1e-4);
      }
    } finally {
      await onnx.release();
      model.dispose();
    }
  });
});
