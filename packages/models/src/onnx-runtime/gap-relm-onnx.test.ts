import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlannerOp } from '@proj/align';
import type { GapRelmDecodeConfig, InfillerBatch } from '@proj/sampling';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { GapRelm } from '../gap-relm/gap-relm';
import { charTokenizer, corpusSentences, TINY } from '../gap-relm/testing';
import { exportGapRelmOnnx, OnnxGapRelm, writeGapRelmServingDir } from './gap-relm-onnx';

// Random weights and low thresholds: near-uniform planner probabilities pass 0.3, so the decode
// makes REPLACE, DELETE and insert decisions and the infiller fills them (checked below).
const LOW: Partial<GapRelmDecodeConfig> = { deleteThreshold: 0.3, replaceThreshold: 0.3, insertThreshold: 0.3 };
const TOL = 1e-4;

let dir: string;
let sentences: string[];
let tfjs: GapRelm;
let onnx: OnnxGapRelm;

/** Largest |a - b| over two arrays; -Infinity must sit at the same places in both. */
function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i])) expect([i, b[i]]).toEqual([i, a[i]]);
    else worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  return worst;
}

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'gap-relm-onnx-'));
  sentences = corpusSentences(24, 6, 16);
  const model = GapRelm.create(TINY, charTokenizer(sentences), 11);
  await model.save(dir);
  model.dispose();
  await expect(OnnxGapRelm.load(dir)).rejects.toThrow(`OnnxGapRelm.load: ${join(dir, 'onnx', 'planner.onnx')} is missing; create ${join(dir, 'onnx')}/ with exportGapRelmOnnx('${dir}')`);
  expect(await exportGapRelmOnnx(dir)).toBe(join(dir, 'onnx'));
  expect(existsSync(join(dir, 'onnx', 'infiller.onnx'))).toBe(true);
  tfjs = await GapRelm.load(dir);
  onnx = await OnnxGapRelm.load(dir, { executionProviders: ['cpu'] });
}, 60_000);

afterAll(async () => {
  tfjs?.dispose();
  await onnx?.release();
  await rm(dir, { recursive: true, force: true });
});

const short = () => sentences.filter((s) => [...s].length <= 8);
const long = () => sentences.filter((s) => [...s].length >= 14);

describe('OnnxGapRelm (parity with the tfjs GapRelm)', () => {
  it('runs on the cpu provider with the requested threads', () => {
    expect(onnx.provider).toBe('cpu');
    expect(onnx.intraOpNumThreads).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['short', 1],
    ['short', 3],
    ['long', 1],
    ['long', 3],
  ] as const)('planner logits match within 1e-4 (%s sentences, batch %i)', async (which, batch) => {
    const texts = (which === 'short' ? short() : long()).slice(0, batch);
    expect(texts).toHaveLength(batch);
    const sourceTokens = texts.map((t) => [...t]);
    const a = await tfjs.plannerSource().plan({ sourceTokens });
    const b = await onnx.plannerSource().plan({ sourceTokens });
    for (let i = 0; i < batch; i++) {
      expect(a.opLogits[i]).toHaveLength((sourceTokens[i].length + 1) * 3);
      expect(maxDiff(a.opLogits[i], b.opLogits[i])).toBeLessThan(TOL);
      expect(maxDiff(a.insertLogits[i], b.insertLogits[i])).toBeLessThan(TOL);
    }
  });

  it.each([
    ['short', 1],
    ['short', 3],
    ['long', 1],
    ['long', 3],
  ] as const)('infiller logits match within 1e-4 (%s sentences, batch %i)', async (which, batch) => {
    const texts = (which === 'short' ? short() : long()).slice(0, batch);
    // Templates: each source with its 2nd token masked and a [MASK] inserted after its 4th.
    const sourceTokens = texts.map((t) => [...t]);
    const templates = sourceTokens.map((s) => [s[0], '[MASK]', s[2], s[3], '[MASK]', ...s.slice(4)]);
    const input: InfillerBatch = { sourceTokens, templates, maskPositions: templates.map(() => [1, 4]) };
    const a = await tfjs.infillerSource().fill(input);
    const b = await onnx.infillerSource().fill(input);
    for (let i = 0; i < batch; i++) {
      expect(a.logits[i]).toHaveLength(2 * tfjs.bertConfig.vocabSize);
      expect(maxDiff(a.logits[i], b.logits[i])).toBeLessThan(TOL);
    }
  });

  it('correct() gives identical corrections and edits (confidences within 1e-5) on 24 sentences, with every edit kind', async () => {
    expect(sentences).toHaveLength(24);
    const a = await tfjs.correct(sentences, LOW);
    const b = await onnx.correct(sentences, LOW);
    // Decisions are identical; confidences are float arithmetic of two engines (equal to ~1e-7).
    const decisions = (cs: typeof a) => cs.map((c) => ({ ...c, edits: c.edits.map((e) => ({ ...e, confidence: 0 })) }));
    expect(decisions(b)).toEqual(decisions(a));
    a.forEach((c, i) => c.edits.forEach((e, j) => expect(Math.abs(e.confidence - b[i].edits[j].confidence)).toBeLessThan(1e-5)));
    const kinds = new Set(a.flatMap((c) => c.edits.map((e) => e.kind)));
    expect([...kinds].sort()).toEqual(['delete', 'insert', 'replace']);
    expect(a.filter((c) => c.corrected !== c.source).length).toBeGreaterThan(10);
  });

  it('fromModel: sessions on the in-memory weights decode as the exported files do, and follow changed weights', async () => {
    const inMemory = await OnnxGapRelm.fromModel(tfjs, { executionProviders: ['cpu'] });
    try {
      expect(await inMemory.correct(sentences, LOW)).toEqual(await onnx.correct(sentences, LOW));
    } finally {
      await inMemory.release();
    }
    // Changed weights reach sessions built afterwards: head biases of +50 on KEEP and on "insert
    // nothing" make the planner keep every sentence as it is.
    const changed = await GapRelm.load(dir);
    try {
      for (const head of ['planner.planner.op_head.bias', 'planner.planner.insert_head.bias']) {
        const bias = changed.store.get(head);
        bias.assign(tf.tensor1d(Array.from({ length: bias.shape[0] }, (_, i) => (i === PlannerOp.KEEP || (head.includes('insert') && i === 0) ? 50 : 0))));
      }
      const keepAll = await OnnxGapRelm.fromModel(changed, { executionProviders: ['cpu'] });
      try {
        // The unchanged model edits some of these sentences, so an unchanged session would fail here.
        expect((await onnx.correct(sentences.slice(0, 6), LOW)).some((c) => c.corrected !== c.source)).toBe(true);
        const out = await keepAll.correct(sentences.slice(0, 6), LOW);
        expect(out.map((c) => c.corrected)).toEqual(sentences.slice(0, 6));
      } finally {
        await keepAll.release();
      }
    } finally {
      changed.dispose();
    }
  });

  it('share_encoder: the planner graph reads the one encoder; onnxruntime corrects as tfjs does', async () => {
    const shared = GapRelm.create({ ...TINY, share_encoder: true }, tfjs.tokenizer, 12);
    try {
      const session = await OnnxGapRelm.fromModel(shared, { executionProviders: ['cpu'] });
      try {
        const sourceTokens = long().slice(0, 3).map((t) => [...t]);
        const a = await shared.plannerSource().plan({ sourceTokens });
        const b = await session.plannerSource().plan({ sourceTokens });
        sourceTokens.forEach((_, i) => expect(maxDiff(a.opLogits[i], b.opLogits[i])).toBeLessThan(TOL));
        const decisions = (cs: Awaited<ReturnType<typeof shared.correct>>) => cs.map((c) => c.corrected);
        const fromTfjs = await shared.correct(sentences, LOW);
        expect(decisions(await session.correct(sentences, LOW))).toEqual(decisions(fromTfjs));
        expect(fromTfjs.filter((c) => c.corrected !== c.source).length).toBeGreaterThan(5);
      } finally {
        await session.release();
      }
    } finally {
      shared.dispose();
    }
  });

  it('writeGapRelmServingDir: a weights-free directory (graphs, configs, tokenizer) serves the same corrections', async () => {
    const bare = await mkdtemp(join(tmpdir(), 'gap-relm-onnx-bare-'));
    try {
      const files = await writeGapRelmServingDir(dir, bare);
      expect(files).toEqual(['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json', 'planner/config.json', 'infiller/config.json', 'onnx/planner.onnx', 'onnx/infiller.onnx', 'gap_relm_config.json']);
      expect(existsSync(join(bare, 'planner', 'model.safetensors'))).toBe(false);
      const served = await OnnxGapRelm.load(bare, { executionProviders: ['cpu'] });
      try {
        expect(await served.correct(sentences.slice(0, 6), LOW)).toEqual(await onnx.correct(sentences.slice(0, 6), LOW));
      } finally {
        await served.release();
      }
      await expect(writeGapRelmServingDir(bare, join(bare, 'again'))).resolves.toHaveLength(files.length);
      await rm(join(bare, 'onnx'), { recursive: true });
      await expect(writeGapRelmServingDir(bare, join(bare, 'x'))).rejects.toThrow(`writeGapRelmServingDir: ${bare} lacks onnx/planner.onnx, onnx/infiller.onnx; export it first with exportGapRelmOnnx('${bare}')`);
    } finally {
      await rm(bare, { recursive: true, force: true });
    }
  });
});
