import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors, type SafetensorsTensor } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { BertForMaskedLM, BertModel, flatPositions } from './model';
import { loadBertCheckpoint, loadBertForMaskedLM } from './weights';

const FIXTURES = join(__dirname, '../../test/fixtures');
const TINY = join(FIXTURES, 'tiny-bert');
const TS_SAVED = join(FIXTURES, 'tiny-bert-saved-by-ts');

let original: BertForMaskedLM;
let tensors: Map<string, SafetensorsTensor>;
const temps: string[] = [];

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  original = (await loadBertForMaskedLM(TINY)).model;
  tensors = (await readSafetensors(join(TINY, 'model.safetensors'))).tensors;
});
afterAll(async () => {
  original.dispose();
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

/** A checkpoint dir with tiny-bert's config and the given tensors. */
async function checkpoint(entries: [string, SafetensorsTensor][]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bert-weights-'));
  temps.push(dir);
  copyFileSync(join(TINY, 'config.json'), join(dir, 'config.json'));
  await writeSafetensors(join(dir, 'model.safetensors'), entries);
  return dir;
}

async function paramsEqual(a: BertForMaskedLM | BertModel, b: BertForMaskedLM, prefixA = 'bert.'): Promise<number> {
  let compared = 0;
  for (const name of b.params.names()) {
    const nameA = name.startsWith('bert.') ? prefixA + name.slice(5) : name;
    if (!a.params.has(nameA)) continue;
    expect(Array.from(await a.params.toFloat32(nameA))).toEqual(Array.from(await b.params.toFloat32(name)));
    compared++;
  }
  return compared;
}

describe('a checkpoint saved by TS loads in Python transformers', () => {
  const verdict = JSON.parse(readFileSync(join(TS_SAVED, 'python-load-verdict.json'), 'utf8'));

  it('the reference script passed it: no missing/unexpected keys, decoder tied, outputs within 1e-4', () => {
    expect(verdict.verdict).toBe('pass');
    expect(verdict.loading_info.missing_keys).toEqual([]);
    expect(verdict.loading_info.unexpected_keys).toEqual([]);
    expect(verdict.decoder_tied_to_word_embeddings).toBe(true);
    expect(verdict.max_abs_diff_last_hidden_state).toBeLessThan(1e-4);
    expect(verdict.max_abs_diff_mlm_logits).toBeLessThan(1e-4);
  });

  it('the verdict is about the committed model.safetensors (sha256 matches)', () => {
    const sha = createHash('sha256').update(readFileSync(join(TS_SAVED, 'model.safetensors'))).digest('hex');
    expect(sha).toBe(verdict.model_safetensors_sha256);
  });

  it('TS reloads it and reproduces the outputs it recorded for Python', async () => {
    const { model } = await loadBertForMaskedLM(TS_SAVED);
    const exp = JSON.parse(readFileSync(join(TINY, 'expected.json'), 'utf8'));
    const ts = JSON.parse(readFileSync(join(TS_SAVED, 'ts-outputs.json'), 'utf8'));
    const [b, len] = [exp.input_ids.length, exp.input_ids[0].length];
    const logits = tf.tidy(() => (model.forward(new TfOps(model.params), {
      inputIds: tf.tensor2d(exp.input_ids.flat(), [b, len], 'int32'),
      attentionMask: tf.tensor2d(exp.attention_mask.flat(), [b, len], 'int32'),
      tokenTypeIds: tf.tensor2d(exp.token_type_ids.flat(), [b, len], 'int32'),
    }, { positions: tf.tensor1d(flatPositions(exp.mlm_positions, len), 'int32') }).logits as tf.Tensor).dataSync().slice());
    const maxDiff = Math.max(...ts.mlm_logits.values.map((v: number, i: number) => Math.abs(v - logits[i])));
    expect(maxDiff).toBeLessThan(1e-5);
    // Trained away from the original: the TS gradients changed the weights.
    expect(Array.from(await model.params.toFloat32('cls.predictions.bias'))).not.toEqual(Array.from(await original.params.toFloat32('cls.predictions.bias')));
    model.dispose();
  });
});

describe('loadBertCheckpoint name and dtype variants', () => {
  it('accepts unprefixed names, LayerNorm gamma/beta, position_ids buffers and an explicit tied decoder', async () => {
    const entries: [string, SafetensorsTensor][] = [];
    for (const [name, t] of tensors) {
      const renamed = name.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta');
      entries.push([renamed, t]);
    }
    entries.push(['cls.predictions.decoder.weight', tensors.get('bert.embeddings.word_embeddings.weight')!]);
    entries.push(['embeddings.position_ids', { dtype: 'I64', shape: [1, 64], data: new BigInt64Array(64) }]);
    const { model, report } = await loadBertForMaskedLM(await checkpoint(entries));
    expect(report.ignored.sort()).toEqual(['cls.predictions.decoder.weight', 'embeddings.position_ids']);
    expect(await paramsEqual(model, original)).toBe(original.params.size);
    model.dispose();
  });

  it('widens BF16 weights to float32 exactly', async () => {
    const entries: [string, SafetensorsTensor][] = [...tensors].map(([name, t]) => {
      const bits = new Uint32Array((t.data as Float32Array).slice().buffer);
      return [name, { dtype: 'BF16', shape: t.shape, data: Uint16Array.from(bits, (b) => b >>> 16) }];
    });
    const { model, report } = await loadBertForMaskedLM(await checkpoint(entries));
    expect(report.dtypes).toEqual(['BF16']);
    const want = new Uint32Array((tensors.get('cls.predictions.bias')!.data as Float32Array).slice().buffer).map((b) => b & 0xffff0000);
    expect(Array.from(await model.params.toFloat32('cls.predictions.bias'))).toEqual(Array.from(new Float32Array(want.buffer)));
    model.dispose();
  });

  it('without the MLM head it is a BertModel (bare names), and loadBertForMaskedLM refuses it', async () => {
    const dir = await checkpoint([...tensors].filter(([n]) => !n.startsWith('cls.')).map(([n, t]) => [n.replace(/^bert\./, ''), t]));
    const { model } = await loadBertCheckpoint(dir);
    expect(model).toBeInstanceOf(BertModel);
    expect(await paramsEqual(model, original, '')).toBe(original.params.size - 5);
    model.dispose();
    await expect(loadBertForMaskedLM(dir)).rejects.toThrow(/loadBertForMaskedLM: .* has no MLM head/);
  });

  const broken: [string, (e: [string, SafetensorsTensor][]) => [string, SafetensorsTensor][], RegExp][] = [
    ['a missing tensor', (e) => e.filter(([n]) => n !== 'bert.encoder.layer.1.output.dense.bias'), /model\.safetensors does not match .*config\.json; missing tensors: bert\.encoder\.layer\.1\.output\.dense\.bias/],
    ['an unexpected tensor', (e) => [...e, ['bert.encoder.layer.2.output.dense.bias', e[0][1]]], /unexpected tensors: bert\.encoder\.layer\.2\.output\.dense\.bias/],
    [
      'a wrong shape',
      (e) => e.map(([n, t]) => (n === 'cls.predictions.bias' ? [n, { dtype: 'F32', shape: [100], data: new Float32Array(100) }] : [n, t])),
      /cls\.predictions\.bias has shape \[100\], config expects \[200\]/,
    ],
  ];
  it.each(broken)('reports %s, naming the file and tensor', async (_what, edit, message) => {
    await expect(loadBertCheckpoint(await checkpoint(edit([...tensors])))).rejects.toThrow(message);
  });
});
