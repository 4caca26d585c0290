import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import type { GapRelmDecodeConfig } from '@proj/sampling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import type { BertForMaskedLM } from '../bert/model';
import { loadBertForMaskedLM } from '../bert/weights';
import { GapRelm } from '../gap-relm/gap-relm';
import type { PaddedInputs } from '../gap-relm/inputs';
import { TfOps } from '../ops/tf-ops';
import { exportGapRelmOnnx, OnnxGapRelm } from './gap-relm-onnx';
import { OnnxMaskedLM } from './masked-lm-onnx';

// tools/reference/bert_onnx_fixture.py: the tiny BERT masked LM exported by torch.onnx.export in
// optimum's layout, with PyTorch's logits on a padded batch and the onnx.checker verdict.
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const OPTIMUM = join(FIXTURES, 'tiny-bert-onnx');
const TINY_BERT = join(FIXTURES, 'tiny-bert');
const expected = JSON.parse(readFileSync(join(OPTIMUM, 'expected.json'), 'utf8'));
const TOL = 1e-4;

let mlm: OnnxMaskedLM;
let tfjs: BertForMaskedLM;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  mlm = await OnnxMaskedLM.load(OPTIMUM, { executionProviders: ['cpu'] });
  tfjs = (await loadBertForMaskedLM(TINY_BERT)).model;
});

afterAll(async () => {
  await mlm?.release();
  tfjs?.dispose();
});

/** A padded batch of random ids (row b has lengths[b] real tokens) with a seeded RNG. */
function randomBatch(lengths: number[], vocab: number, seed: number): PaddedInputs {
  const rng = new Rng(seed);
  const length = Math.max(...lengths);
  const x: PaddedInputs = { batch: lengths.length, length, inputIds: new Int32Array(lengths.length * length), attentionMask: new Int32Array(lengths.length * length), tokenTypeIds: new Int32Array(lengths.length * length) };
  lengths.forEach((n, b) => {
    for (let i = 0; i < n; i++) {
      x.inputIds[b * length + i] = 5 + rng.int(vocab - 5);
      x.attentionMask[b * length + i] = 1;
      x.tokenTypeIds[b * length + i] = i >= n / 2 ? 1 : 0;
    }
  });
  return x;
}

function tfjsLogits(x: PaddedInputs): Float32Array {
  const shape = [x.batch, x.length];
  return tf.tidy(() => {
    const out = tfjs.forward(new TfOps(tfjs.params), {
      inputIds: tf.tensor(x.inputIds, shape, 'int32'),
      attentionMask: tf.tensor(x.attentionMask, shape, 'int32'),
      tokenTypeIds: tf.tensor(x.tokenTypeIds, shape, 'int32'),
    }, { fullLogits: true });
    return (out.fullLogits as tf.Tensor).dataSync() as Float32Array;
  }).slice();
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, keep: (i: number) => boolean = () => true): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) if (keep(i)) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

describe('OnnxMaskedLM on an optimum-layout export made by PyTorch', () => {
  it('the committed verdict is about the committed model.onnx (onnx.checker ok, onnxruntime == PyTorch)', () => {
    const sha = createHash('sha256').update(readFileSync(join(OPTIMUM, 'model.onnx'))).digest('hex');
    expect(sha).toBe(expected.verdict.model_onnx_sha256);
    expect(expected.verdict.onnx_checker_full_check).toBe('ok');
    expect(expected.verdict.onnxruntime_vs_torch_max_abs_diff).toBeLessThan(TOL);
  });

  it('reads config.json and the tokenizer: ids equal transformers\' fast tokenizer on the fixture texts', () => {
    expect(mlm.config.vocabSize).toBe(expected.shape[2]);
    const ids = (expected.texts as string[]).map((t) => mlm.tokenizer.encode(t).input_ids);
    ids.forEach((row, b) => expect(row).toEqual((expected.input_ids[b] as number[]).slice(0, row.length)));
  });

  it('gives PyTorch\'s logits on the padded fixture batch (within 1e-4)', async () => {
    const [batch, length] = expected.shape;
    const x: PaddedInputs = {
      batch,
      length,
      inputIds: Int32Array.from(expected.input_ids.flat()),
      attentionMask: Int32Array.from(expected.attention_mask.flat()),
      tokenTypeIds: Int32Array.from(expected.token_type_ids.flat()),
    };
    const logits = await mlm.logits(x);
    const V = expected.shape[2];
    expect(maxAbsDiff(logits, expected.torch_logits, (i) => x.attentionMask[Math.floor(i / V)] === 1)).toBeLessThan(TOL);
  });

  it.each([
    { lengths: [1], seed: 1 },
    { lengths: [5, 17, 9], seed: 2 },
    { lengths: [30, 30], seed: 3 },
  ])('agrees with the tfjs BertForMaskedLM on other batch sizes and lengths: $lengths', async ({ lengths, seed }) => {
    // The exported graph has dynamic axes: shapes other than the traced one must work too.
    const x = randomBatch(lengths, mlm.tokenizer.vocab.size, seed);
    const V = mlm.config.vocabSize;
    const onnx = await mlm.logits(x);
    expect(maxAbsDiff(onnx, tfjsLogits(x), (i) => x.attentionMask[Math.floor(i / V)] === 1)).toBeLessThan(TOL);
    const positions = Int32Array.from([0, x.length * (x.batch - 1) + lengths[lengths.length - 1] - 1]);
    const rows = await mlm.logitsAt(x, positions);
    positions.forEach((p, r) => expect(Array.from(rows.subarray(r * V, (r + 1) * V))).toEqual(Array.from(onnx.subarray(p * V, (p + 1) * V))));
  });

  it('fillMask ranks the [MASK] candidates by PyTorch\'s logits and scores them as probabilities', async () => {
    const [results] = await mlm.fillMask([expected.texts[1]], 3);
    expect(results).toHaveLength(1);
    const candidates = results[0];
    const [, length, V] = expected.shape;
    const maskAt = (expected.input_ids[1] as number[]).indexOf(mlm.tokenizer.maskId);
    const row = (expected.torch_logits as number[]).slice((1 * length + maskAt) * V, (1 * length + maskAt + 1) * V);
    const order = Array.from(row.keys()).sort((i, j) => row[j] - row[i]);
    expect(candidates.map((c) => c.id)).toEqual(order.slice(0, 3));
    expect(candidates[0].token).toBe(mlm.tokenizer.vocab.tokenOf(order[0]));
    expect(candidates[0].score).toBeGreaterThanOrEqual(candidates[1].score);
    const total = row.reduce((s, v) => s + Math.exp(v - row[order[0]]), 0);
    expect(candidates[0].score).toBeCloseTo(1 / total, 4);
    expect(await mlm.fillMask(['一丁'])).toEqual([[]]);
  });

  it('names the missing file of a directory that is not an optimum export', async () => {
    await expect(OnnxMaskedLM.load(TINY_BERT)).rejects.toThrow(`OnnxMaskedLM.load: ${join(TINY_BERT, 'model.onnx')} is missing; expected an optimum export directory`);
  });
});

describe('OnnxMaskedLM on a genuine optimum-cli export (tools/reference/optimum_fixture.sh)', () => {
  const GENUINE = join(FIXTURES, 'tiny-bert-optimum');
  let genuine: OnnxMaskedLM;

  beforeAll(async () => {
    genuine = await OnnxMaskedLM.load(GENUINE, { executionProviders: ['cpu'] });
  });

  afterAll(async () => {
    await genuine?.release();
  });

  it('reads optimum\'s inputs, outputs, config and tokenizer files', () => {
    expect(genuine.session.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(genuine.session.outputNames).toEqual(['logits']);
    expect(genuine.config.vocabSize).toBe(mlm.config.vocabSize);
    for (const text of expected.texts as string[]) expect(genuine.tokenizer.encode(text).input_ids).toEqual(mlm.tokenizer.encode(text).input_ids);
  });

  it.each([
    { lengths: [1], seed: 4 },
    { lengths: [6, 23, 2], seed: 5 },
  ])('agrees with the tfjs BertForMaskedLM within 1e-4: $lengths', async ({ lengths, seed }) => {
    const x = randomBatch(lengths, genuine.tokenizer.vocab.size, seed);
    const V = genuine.config.vocabSize;
    expect(maxAbsDiff(await genuine.logits(x), tfjsLogits(x), (i) => x.attentionMask[Math.floor(i / V)] === 1)).toBeLessThan(TOL);
  });
});

describe('OnnxGapRelm with an external optimum-layout infiller', () => {
  // Both encoders start from the tiny BERT, without prompts, so the infiller the model holds is
  // exactly the one PyTorch exported: corrections through the external file equal tfjs's.
  const LOW: Partial<GapRelmDecodeConfig> = { deleteThreshold: 0.3, replaceThreshold: 0.3, insertThreshold: 0.3 };
  let dir: string;
  let model: GapRelm;
  let onnx: OnnxGapRelm;
  let texts: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gap-relm-optimum-'));
    model = await GapRelm.fromPretrained({ init_from: TINY_BERT, ptuning: 'none', dropout: 0 }, 5);
    await model.save(dir);
    await exportGapRelmOnnx(dir);
    const lines: string[] = [];
    onnx = await OnnxGapRelm.load(dir, { executionProviders: ['cpu'], infiller: OPTIMUM, log: (line) => lines.push(line) });
    expect(lines).toContain(`onnx: infiller ${OPTIMUM} (optimum layout, vocab ${mlm.config.vocabSize}, no P-tuning prompts)`);
    // Sentences over the fixture's vocabulary (its first CJK code points).
    const chars = model.tokenizer.vocab.tokens.filter((t) => /^\p{Script=Han}$/u.test(t));
    const rng = new Rng(9);
    texts = Array.from({ length: 12 }, () => Array.from({ length: 4 + rng.int(10) }, () => chars[rng.int(chars.length)]).join(''));
  }, 60_000);

  afterAll(async () => {
    model?.dispose();
    await onnx?.release();
    await rm(dir, { recursive: true, force: true });
  });

  it('corrects exactly as the tfjs model whose infiller was exported', async () => {
    const viaTfjs = await model.correct(texts, LOW);
    const viaOnnx = await onnx.correct(texts, LOW);
    expect(viaOnnx.map((c) => c.corrected)).toEqual(viaTfjs.map((c) => c.corrected));
    const edits = viaTfjs.flatMap((c) => c.edits);
    // The decode made edits that needed fills, so the external infiller really ran.
    expect(edits.some((e) => e.kind === 'replace' || e.kind === 'insert')).toBe(true);
    viaTfjs.forEach((c, i) => c.edits.forEach((e, j) => {
      const o = viaOnnx[i].edits[j];
      expect({ ...o, confidence: 0 }).toEqual({ ...e, confidence: 0 });
      expect(Math.abs(o.confidence - e.confidence)).toBeLessThan(TOL);
    }));
  });
});
