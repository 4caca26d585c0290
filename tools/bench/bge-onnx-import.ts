// Imports the real bge-small-zh-v1.5 ONNX export (Xenova / langchain4j file, unnamed onnx::MatMul
// weights) with importBertOnnxToDirectory and checks the toolkit's BERT (TfOps) on the imported
// weights against onnxruntime-node on the original file: max abs difference of last_hidden_state
// over the real (non-padding) tokens of a padded batch of Chinese sentences, plus the import time.
// Run from the repo root: npx tsx tools/bench/bge-onnx-import.ts [--dir ../shared/models/bge-small-zh-v1.5] [--backend cpu]
import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { BertTokenizer, TfOps, importBertOnnxToDirectory, initBackend, loadBertCheckpoint, type BackendChoice } from '@proj/models';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
};
const dir = resolve(arg('dir', '../shared/models/bge-small-zh-v1.5'));
const onnxPath = join(dir, 'model.onnx');
if (!existsSync(onnxPath)) {
  console.error(`bge-onnx-import: ${onnxPath} not found (give --dir, a folder with model.onnx and tokenizer.json)`);
  process.exit(2);
}
const SENTENCES = [
  '我今天很高兴见到你。',
  '他门来了，我们一起去吃饭吧。',
  '北京是中华人民共和国的首都，也是全国的政治、文化中心。',
  '这个问题的答案其实很简单。',
  '机器学习模型需要大量的数据来训练，才能得到好的效果。',
];

const backend = await initBackend({ backend: arg('backend', 'cpu') as BackendChoice });
console.error(`backend: ${backend.name} (${backend.detail})`);
const out = await mkdtemp(join(tmpdir(), 'bge-import-'));
try {
  let t0 = performance.now();
  const imported = await importBertOnnxToDirectory(onnxPath, out, { tokenizerJson: join(dir, 'tokenizer.json') });
  const importMs = performance.now() - t0;
  const { model } = await loadBertCheckpoint(out);
  const tokenizer = await BertTokenizer.fromDirectory(out);
  const enc = tokenizer.encodeBatch(SENTENCES);
  const [B, L] = [enc.length, enc[0].input_ids.length];
  const flat = (key: 'input_ids' | 'attention_mask' | 'token_type_ids') => enc.flatMap((e) => e[key]);

  t0 = performance.now();
  const ours = tf.tidy(() => {
    const ids = (key: 'input_ids' | 'attention_mask' | 'token_type_ids') => tf.tensor2d(flat(key), [B, L], 'int32');
    return model.forward(new TfOps(model.params), { inputIds: ids('input_ids'), attentionMask: ids('attention_mask'), tokenTypeIds: ids('token_type_ids') }).lastHiddenState.dataSync() as Float32Array;
  });
  const oursMs = performance.now() - t0;

  const session = await ort.InferenceSession.create(onnxPath, { executionProviders: ['cpu'] });
  const feed = (key: 'input_ids' | 'attention_mask' | 'token_type_ids') => new ort.Tensor('int64', BigInt64Array.from(flat(key), BigInt), [B, L]);
  t0 = performance.now();
  const result = await session.run({ input_ids: feed('input_ids'), attention_mask: feed('attention_mask'), token_type_ids: feed('token_type_ids') });
  const ortMs = performance.now() - t0;
  const theirs = result.last_hidden_state.data as Float32Array;
  await session.release();

  const H = imported.config.hiddenSize;
  const mask = flat('attention_mask');
  let worst = 0;
  let maxAbs = 0;
  for (let i = 0; i < ours.length; i++) {
    if (mask[Math.floor(i / H)] !== 1) continue;
    worst = Math.max(worst, Math.abs(ours[i] - theirs[i]));
    maxAbs = Math.max(maxAbs, Math.abs(theirs[i]));
  }
  const c = imported.config;
  console.log(`bge-small-zh-v1.5 import (${onnxPath}, sha256 ${imported.sha256.slice(0, 12)}…)`);
  console.log(`config: hidden ${c.hiddenSize}, layers ${c.numHiddenLayers}, heads ${c.numAttentionHeads}, ffn ${c.intermediateSize}, vocab ${c.vocabSize}, positions ${c.maxPositionEmbeddings}, eps ${c.layerNormEps}, act ${c.hiddenAct}`);
  console.log(`parameters ${imported.parameters.toLocaleString('en-US')}; unnamed weights placed: ${imported.placed.length} (${[...new Set(imported.placed.map((p) => p.via))].join(', ')})`);
  console.log('');
  console.log('| check | value |');
  console.log('|---|---:|');
  console.log(`| sentences (batch × padded length) | ${B} × ${L} |`);
  console.log(`| import (read ONNX, map, write safetensors) | ${(importMs / 1000).toFixed(2)} s |`);
  console.log(`| toolkit BERT forward (${backend.name}) | ${oursMs.toFixed(0)} ms |`);
  console.log(`| onnxruntime-node forward (cpu) | ${ortMs.toFixed(0)} ms |`);
  console.log(`| max abs diff, last_hidden_state at real tokens | ${worst.toExponential(2)} |`);
  console.log(`| largest |value| compared | ${maxAbs.toFixed(2)} |`);
  model.dispose();
  if (!(worst < 1e-4)) {
    console.error(`bge-onnx-import: max abs diff ${worst} is not below 1e-4`);
    process.exitCode = 1;
  }
} finally {
  await rm(out, { recursive: true, force: true });
}
