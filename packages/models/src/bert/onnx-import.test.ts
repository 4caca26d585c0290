import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, safetensorsToFloat32 } from '@proj/core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { decodeModelProto, encodeModelProto } from '../onnx/model-proto';
import { TfOps } from '../ops/tf-ops';
import { BertTokenizer } from '../tokenizers/bert-tokenizer';
import { parseBertConfig } from './config';
import { BertForMaskedLM, BertModel } from './model';
import { importBertOnnx, importBertOnnxToDirectory, ONNX_IMPORT_FILE } from './onnx-import';
import { loadBertCheckpoint } from './weights';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
// Three exports of the same tiny random BERT (tools/reference/bert_fixture.py), all with unnamed
// onnx::MatMul_* weights: a feature-extraction graph cut from optimum's (make.ts there), optimum's
// own fill-mask export (opset 18, LayerNormalization) and torch.onnx.export's (opset 14, names
// prefixed 'model.bert.').
const FEATURES = join(FIXTURES, 'tiny-bert-feature-extraction');
const OPTIMUM = join(FIXTURES, 'tiny-bert-optimum');
const TORCH = join(FIXTURES, 'tiny-bert-onnx');
const TINY_BERT = join(FIXTURES, 'tiny-bert');
const TOL = 1e-4;

interface Expected {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  last_hidden_state: { shape: number[]; values: number[] };
}
const expected = JSON.parse(readFileSync(join(TINY_BERT, 'expected.json'), 'utf8')) as Expected;
const B = expected.input_ids.length;
const L = expected.input_ids[0].length;
const flat = (rows: number[][]) => rows.flat();

let tmp: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  tmp = await mkdtemp(join(tmpdir(), 'onnx-import-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** onnxruntime's output `name` on the fixture inputs. */
async function runOnnx(path: string, name: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'] });
  try {
    const feed = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(flat(rows), BigInt), [B, L]);
    const out = await session.run({ input_ids: feed(expected.input_ids), attention_mask: feed(expected.attention_mask), token_type_ids: feed(expected.token_type_ids) });
    return out[name].data as Float32Array;
  } finally {
    await session.release();
  }
}

/** The toolkit's forward pass (TfOps) on the fixture inputs: hidden states, and full logits with the MLM head. */
function runToolkit(model: BertModel | BertForMaskedLM): { hidden: Float32Array; logits?: Float32Array } {
  return tf.tidy(() => {
    const ids = (rows: number[][]) => tf.tensor2d(flat(rows), [B, L], 'int32');
    const inputs = { inputIds: ids(expected.input_ids), attentionMask: ids(expected.attention_mask), tokenTypeIds: ids(expected.token_type_ids) };
    const ops = new TfOps(model.params);
    if (model instanceof BertForMaskedLM) {
      const out = model.forward(ops, inputs, { fullLogits: true });
      return { hidden: out.lastHiddenState.dataSync() as Float32Array, logits: (out.fullLogits as tf.Tensor).dataSync() as Float32Array };
    }
    return { hidden: model.forward(ops, inputs).lastHiddenState.dataSync() as Float32Array };
  });
}

/** Max |a - b| over the positions the attention mask keeps (padding rows are not compared). */
function maxDiffAtTokens(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  const mask = flat(expected.attention_mask);
  const per = a.length / mask.length;
  let worst = 0;
  for (let i = 0; i < a.length; i++) if (mask[Math.floor(i / per)] === 1) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** tiny-bert's own safetensors, by name without the 'bert.' prefix. */
async function originalTensors(): Promise<Map<string, Float32Array>> {
  const { tensors } = await readSafetensors(join(TINY_BERT, 'model.safetensors'));
  return new Map([...tensors].map(([n, t]) => [n.replace(/^bert\./, ''), safetensorsToFloat32(t, n)]));
}

describe('importBertOnnxToDirectory on a feature-extraction export with unnamed MatMul weights', () => {
  it('writes an HF directory whose BertModel equals onnxruntime on the original graph', async () => {
    const dir = join(tmp, 'features');
    const result = await importBertOnnxToDirectory(join(FEATURES, 'model.onnx'), dir, { tokenizerJson: join(FEATURES, 'tokenizer.json') });
    expect(result.mlmHead).toBe(false);
    expect(result.outputs).toEqual(['last_hidden_state']);
    expect(result.placed).toHaveLength(12);
    expect(result.placed.every((p) => p.initializer.startsWith('onnx::MatMul_') && p.via === 'bias')).toBe(true);
    for (const file of ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer.json', 'tokenizer_config.json', ONNX_IMPORT_FILE]) {
      expect(readFileSync(join(dir, file)).length).toBeGreaterThan(0);
    }
    // The inferred config is the one the export was made from.
    const inferred = parseBertConfig(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')));
    const original = parseBertConfig(JSON.parse(await readFile(join(TINY_BERT, 'config.json'), 'utf8')));
    expect(inferred).toEqual({ ...original, initializerRange: inferred.initializerRange });
    // The existing loader reads it, and the tokenizer is the export's.
    const { model } = await loadBertCheckpoint(dir);
    expect(model).toBeInstanceOf(BertModel);
    const tok = await BertTokenizer.fromDirectory(dir, { source: 'vocab.txt' });
    expect(tok.vocab.size).toBe(200);
    const ours = runToolkit(model);
    const onnx = await runOnnx(join(FEATURES, 'model.onnx'), 'last_hidden_state');
    const diff = maxDiffAtTokens(ours.hidden, onnx);
    expect(diff).toBeLessThan(TOL);
    // And PyTorch's hidden states on the same inputs (transformers, in expected.json).
    expect(expected.last_hidden_state.shape).toEqual([B, L, 32]);
    expect(maxDiffAtTokens(ours.hidden, expected.last_hidden_state.values)).toBeLessThan(TOL);
    model.dispose();
  });

  it('Python transformers loads the imported directory (committed verdict of tools/reference/onnx_import_check.py, pinned to this model.onnx)', () => {
    const verdict = JSON.parse(readFileSync(join(FEATURES, 'python-load-verdict.json'), 'utf8'));
    const sha = createHash('sha256').update(readFileSync(join(FEATURES, 'model.onnx'))).digest('hex');
    expect(verdict.onnx_sha256).toBe(sha);
    expect(verdict.imported_from_sha256).toBe(sha);
    expect([verdict.verdict, verdict.missing_keys, verdict.unexpected_keys]).toEqual(['ok', [], []]);
    expect(verdict.max_abs_diff_last_hidden_state).toBeLessThan(TOL);
  });

  it('recovers the original weights exactly ([in, out] MatMul weights transposed back to [out, in])', async () => {
    const imported = importBertOnnx(readFileSync(join(FEATURES, 'model.onnx')), 'model.onnx');
    const original = await originalTensors();
    expect(imported.tensors.size).toBe([...original.keys()].filter((n) => !n.startsWith('cls.')).length);
    for (const [name, t] of imported.tensors) expect(Array.from(t.data as Float32Array), name).toEqual(Array.from(original.get(name)!));
  });
});

describe('importBertOnnx on masked-LM exports', () => {
  it.each([
    ['optimum-cli (opset 18, LayerNormalization)', OPTIMUM],
    ['torch.onnx.export (opset 14, names under model.bert.)', TORCH],
  ])('%s: BertForMaskedLM on the import equals onnxruntime logits; the tied decoder copy is dropped', async (_, dir) => {
    const out = join(tmp, dir.split('/').at(-1)!);
    const result = await importBertOnnxToDirectory(join(dir, 'model.onnx'), out, { tokenizerJson: join(dir, 'tokenizer.json') });
    expect(result.mlmHead).toBe(true);
    expect(result.placed.map((p) => p.name)).toContain('cls.predictions.decoder.weight');
    expect(result.ignored.some((s) => s.includes('tied to the word embeddings'))).toBe(true);
    const { model } = await loadBertCheckpoint(out);
    expect(model).toBeInstanceOf(BertForMaskedLM);
    const ours = runToolkit(model);
    expect(maxDiffAtTokens(ours.logits!, await runOnnx(join(dir, 'model.onnx'), 'logits'))).toBeLessThan(TOL);
    const original = await originalTensors();
    const imported = importBertOnnx(readFileSync(join(dir, 'model.onnx')), 'model.onnx').tensors;
    for (const [name, t] of imported) expect(Array.from(t.data as Float32Array), name).toEqual(Array.from(original.get(name.replace(/^bert\./, ''))!));
    model.dispose();
  });
});

describe('placing weights by graph structure', () => {
  /** The feature-extraction fixture with its graph edited by `edit`, re-encoded. */
  function edited(edit: (g: NonNullable<ReturnType<typeof decodeModelProto>['graph']>) => void): Uint8Array {
    const m = decodeModelProto(readFileSync(join(FEATURES, 'model.onnx')));
    edit(m.graph!);
    return encodeModelProto(m);
  }
  const renameInitializer = (g: NonNullable<ReturnType<typeof decodeModelProto>['graph']>, test: (n: string) => boolean, to: (n: string, i: number) => string) => {
    const names = new Map<string, string>();
    (g.initializer ?? []).forEach((t, i) => {
      if (test(t.name!)) names.set(t.name!, to(t.name!, i));
    });
    for (const t of g.initializer ?? []) t.name = names.get(t.name!) ?? t.name;
    for (const n of g.node ?? []) n.input = (n.input ?? []).map((x) => names.get(x) ?? x);
  };

  it('without named biases: dense layers by their residual LayerNorm, the others by node name, biases with them', async () => {
    const bytes = edited((g) => renameInitializer(g, (n) => n.endsWith('.bias') && !n.includes('LayerNorm'), (_, i) => `onnx::Add_${900 + i}`));
    const imported = importBertOnnx(bytes, 'edited.onnx');
    const via = (p: RegExp) => [...new Set(imported.placed.filter((w) => p.test(w.name)).map((w) => w.via))];
    expect(via(/(attention\.output|\.output)\.dense\./)).toEqual(['layernorm']);
    expect(via(/(query|key|value|intermediate\.dense)\./)).toEqual(['node-name']);
    expect(imported.placed).toHaveLength(24); // 12 weights + their 12 biases
    const original = await originalTensors();
    for (const [name, t] of imported.tensors) expect(Array.from(t.data as Float32Array), name).toEqual(Array.from(original.get(name)!));
  });

  it('Gemm nodes: the bias is C, the weight [in, out] unless transB', async () => {
    const bytes = edited((g) => {
      for (const n of g.node ?? []) {
        if (n.op_type !== 'MatMul' || !/query\/MatMul$/.test(n.name!)) continue;
        const add = (g.node ?? []).find((a) => a.op_type === 'Add' && (a.input ?? []).includes(n.output![0]))!;
        n.op_type = 'Gemm';
        n.input = [...n.input!, add.input!.find((i) => i !== n.output![0])!];
        add.op_type = 'Identity'; // the bias Add no longer names the layer; Gemm's C must
      }
    });
    const imported = importBertOnnx(bytes, 'gemm.onnx');
    expect(imported.placed.filter((p) => p.name.endsWith('query.weight')).map((p) => p.via)).toEqual(['bias', 'bias']);
    const original = await originalTensors();
    for (const [name, t] of imported.tensors) expect(Array.from(t.data as Float32Array), name).toEqual(Array.from(original.get(name)!));
  });

  it('a weight with no bias, LayerNorm or layer name is reported by initializer name', () => {
    const bytes = edited((g) => {
      for (const n of g.node ?? []) if (n.op_type === 'MatMul') n.name = `node_${n.output![0].length}`;
      renameInitializer(g, (n) => n === 'encoder.layer.0.attention.self.query.bias', () => 'onnx::Add_1');
    });
    expect(() => importBertOnnx(bytes, 'edited.onnx')).toThrow(/cannot place 2 weight\(s\).*onnx::MatMul_314 \[32,32\] \(used by MatMul 'node_\d+'\).*onnx::Add_1 \[32\]/);
  });
});
