import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@proj/core';
import { ConfusionSet, ErrorGenerator } from '@proj/data-synth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { importBertOnnx } from '../bert/onnx-import';
import { resolvePretrained } from '../pretrained/resolve-pretrained';
import { onlineExamples } from './example-source';
import { GapRelm } from './gap-relm';
import { trainGapRelm } from './train-gap-relm';

// The tiny feature-extraction ONNX export (a BertModel: no MLM head, unnamed MatMul weights) as the
// pretrained start: both encoders from its weights, a new MLM head, its WordPiece vocabulary.
const FEATURES = fileURLToPath(new URL('../../test/fixtures/tiny-bert-feature-extraction/', import.meta.url));

let tmp: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  tmp = await mkdtemp(join(tmpdir(), 'gap-relm-onnx-init-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Seeded sentences over 40 characters of the checkpoint's vocabulary, each holding 一 or 七 so the errors below apply. */
function sentences(vocabText: string, count: number, seed: number): string[] {
  const chars = vocabText.split('\n').slice(5, 45);
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => {
    const s = Array.from({ length: 6 + rng.int(5) }, () => chars[rng.int(chars.length)]);
    s[rng.int(s.length)] = rng.int(2) === 0 ? '一' : '七';
    return s.join('');
  });
}

describe('Gap-ReLM from an imported ONNX encoder', () => {
  it('starts both encoders from the export, adds a new tied MLM head, and trains a few steps in every stage', async () => {
    const resolved = await resolvePretrained(FEATURES, { cacheDir: tmp });
    expect(resolved.kind).toBe('onnx');
    const model = await GapRelm.fromPretrained({ init_from: resolved.dir, prompt_length: 2, max_insert_k: 2, dropout: 0 }, 5);
    const params = model.params();
    const imported = importBertOnnx(readFileSync(join(FEATURES, 'model.onnx')), 'model.onnx').tensors;
    const query = 'encoder.layer.1.attention.self.query.weight';
    const importedQuery = Array.from(imported.get(query)!.data as Float32Array);
    expect(Array.from(params.get(`planner.bert.${query}`)!.dataSync())).toEqual(importedQuery);
    expect(Array.from(params.get(`infiller.bert.${query}`)!.dataSync())).toEqual(importedQuery);
    // The MLM head is new (no decoder weight: it is tied to the word embeddings).
    expect(Array.from(params.get('infiller.cls.predictions.bias')!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(params.get('infiller.cls.predictions.transform.dense.weight')!.shape).toEqual([32, 32]);
    expect([...params.keys()].some((n) => n.includes('decoder'))).toBe(false);
    // The checkpoint's WordPiece vocabulary, not a char vocabulary built from the data.
    expect(model.tokenizer.vocab.size).toBe(200);
    // What the checkpoint did not give is new (head_lr_scale applies to it): the MLM transform and
    // bias, the planner heads, the shared prompt encoder; not the tied decoder (word embeddings).
    const fresh = [...model.newParameters!];
    expect(fresh.filter((n) => n.startsWith('infiller.')).sort()).toEqual(
      ['bias', 'transform.LayerNorm.bias', 'transform.LayerNorm.weight', 'transform.dense.bias', 'transform.dense.weight'].map((n) => `infiller.cls.predictions.${n}`),
    );
    expect(fresh.filter((n) => n.startsWith('planner.')).sort()).toEqual(['planner.planner.insert_head.bias', 'planner.planner.insert_head.weight', 'planner.planner.op_head.bias', 'planner.planner.op_head.weight']);
    expect(fresh.filter((n) => n.startsWith('prompt.')).length).toBeGreaterThan(0);
    expect(fresh.every((n) => /^(infiller\.cls\.|planner\.planner\.|prompt\.)/.test(n))).toBe(true);
    expect([...params.keys()].filter((n) => n.startsWith('prompt.')).every((n) => model.newParameters!.has(n))).toBe(true);

    const vocabText = readFileSync(join(resolved.dir, 'vocab.txt'), 'utf8');
    const confusion = ConfusionSet.fromRecord({ 一: '丁', 七: '万' });
    const generator = new ErrorGenerator({ pi_skip: 0, pi_multiply: 0, pi_replace: 1, p_corrupt: 0.8, max_edits_per_sent: 1, seed: 3 }, confusion);
    const result = await trainGapRelm({
      model,
      train: onlineExamples(sentences(vocabText, 48, 1), generator, 1),
      dev: onlineExamples(sentences(vocabText, 16, 2), generator, 2),
      trainConfig: { batch_size: 8, lr: 2e-3, warmup_steps: 1, log_every_steps: 1, seed: 11, weight_decay: 0, head_lr_scale: 5 },
      stageOverrides: { infiller_pretrain: { max_steps: 4 }, planner_train: { max_steps: 3 }, joint_finetune: { max_steps: 3 } },
      devEvalLimit: 16,
      outputDir: join(tmp, 'run'),
      log: null,
    });
    expect(result.stages.map((s) => [s.name, s.result.global_step])).toEqual([['infiller_pretrain', 4], ['planner_train', 3], ['joint_finetune', 3]]);
    for (const { result: r } of result.stages) {
      const losses = r.history.filter((h) => h.split === 'train').map((h) => h.loss as number);
      expect(losses.length).toBeGreaterThan(0);
      expect(losses.every(Number.isFinite)).toBe(true);
    }
    // Training moved the encoders away from the import; the saved model reloads with the same vocabulary.
    const after = Array.from(model.params().get(`infiller.bert.${query}`)!.dataSync());
    expect(after).not.toEqual(importedQuery);
    const loaded = await GapRelm.load(result.finalDir);
    expect(loaded.tokenizer.vocab.size).toBe(200);
    expect(loaded.newParameters).toBeNull(); // a trained model: nothing in it is new
    expect(loaded.bertConfig.hiddenSize).toBe(32);
    const [c] = await loaded.correct(['一丁七万']);
    expect(typeof c.corrected).toBe('string');
  }, 120_000);
});
