import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, safetensorsToFloat32, writeFileAtomic, writeSafetensors, type SafetensorsTensor } from '@proj/core';
import { ParameterStore } from '../ops/parameter-store';
import { bertConfigToJson, parseBertConfig } from './config';
import { BertForMaskedLM, BertModel, bertParameterShapes } from './model';

export interface BertLoadReport {
  /** Tensors in the file that the model does not use (tied decoder weight, NSP head, position_ids buffers). */
  ignored: string[];
  /** Distinct dtypes found in the file (F16/BF16 are widened to float32). */
  dtypes: string[];
}

/** Tensors a BERT checkpoint may carry that the model deliberately does not load. */
function isIgnorable(name: string): boolean {
  return (
    name === 'cls.predictions.decoder.weight' || // tied to the word embeddings
    name === 'cls.predictions.decoder.bias' || // the same parameter as cls.predictions.bias
    name.endsWith('embeddings.position_ids') || // a buffer in older checkpoints
    name.startsWith('cls.seq_relationship.') // the next-sentence head of BertForPreTraining
  );
}

/** Reads model.safetensors, or every shard listed in model.safetensors.index.json. */
async function readTensors(dir: string): Promise<Map<string, SafetensorsTensor>> {
  const single = join(dir, 'model.safetensors');
  if (existsSync(single)) return (await readSafetensors(single)).tensors;
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (!existsSync(indexPath)) throw new Error(`loadBertCheckpoint: ${dir} has neither model.safetensors nor model.safetensors.index.json`);
  const index = JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: Record<string, string> };
  if (!index.weight_map) throw new Error(`loadBertCheckpoint: ${indexPath} has no weight_map`);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const shard of new Set(Object.values(index.weight_map))) {
    for (const [name, t] of (await readSafetensors(join(dir, shard))).tensors) tensors.set(name, t);
  }
  return tensors;
}

/**
 * Loads a Hugging Face BERT checkpoint directory (config.json + model.safetensors) by the standard
 * tensor names. Returns a BertForMaskedLM when the file has the MLM head (cls.predictions.*), a
 * BertModel otherwise. Accepts names with or without the 'bert.' prefix and the old LayerNorm
 * gamma/beta names; F16/BF16/F64 weights are converted to float32. Missing tensors, unknown
 * tensors and shape mismatches throw, naming the file and the tensors.
 */
export async function loadBertCheckpoint(dir: string): Promise<{ model: BertForMaskedLM | BertModel; report: BertLoadReport }> {
  const configPath = join(dir, 'config.json');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (err) {
    throw new Error(`loadBertCheckpoint: cannot read ${configPath}: ${(err as Error).message}`, { cause: err });
  }
  const config = parseBertConfig(json, configPath);
  const file = existsSync(join(dir, 'model.safetensors')) ? join(dir, 'model.safetensors') : join(dir, 'model.safetensors.index.json');
  const raw = await readTensors(dir);

  const hasHead = [...raw.keys()].some((n) => n.startsWith('cls.predictions.') && !isIgnorable(n));
  const prefix = hasHead ? 'bert.' : '';
  const ignored: string[] = [];
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [original, t] of raw) {
    if (isIgnorable(original)) {
      ignored.push(original);
      continue;
    }
    let name = original.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
    if (!name.startsWith('cls.')) name = prefix + name.replace(/^bert\./, '');
    if (tensors.has(name)) throw new Error(`loadBertCheckpoint: ${file} holds ${name} twice (as ${original} and another name)`);
    tensors.set(name, t);
  }
  // Some exports keep the bias only under the decoder's name.
  if (hasHead && !tensors.has('cls.predictions.bias') && raw.has('cls.predictions.decoder.bias')) {
    tensors.set('cls.predictions.bias', raw.get('cls.predictions.decoder.bias') as SafetensorsTensor);
    ignored.splice(ignored.indexOf('cls.predictions.decoder.bias'), 1);
  }

  const expected = bertParameterShapes(config, { prefix, mlmHead: hasHead, pooler: tensors.has(`${prefix}pooler.dense.weight`) });
  const missing = [...expected.keys()].filter((n) => !tensors.has(n));
  const unexpected = [...tensors.keys()].filter((n) => !expected.has(n));
  if (missing.length > 0 || unexpected.length > 0) {
    const list = (names: string[]) => `${names.slice(0, 8).join(', ')}${names.length > 8 ? `, ... (${names.length} in all)` : ''}`;
    throw new Error(
      `loadBertCheckpoint: ${file} does not match ${configPath}` +
        (missing.length > 0 ? `; missing tensors: ${list(missing)}` : '') +
        (unexpected.length > 0 ? `; unexpected tensors: ${list(unexpected)}` : ''),
    );
  }
  const store = new ParameterStore();
  try {
    for (const [name, shape] of expected) {
      const t = tensors.get(name) as SafetensorsTensor;
      if (!tf.util.arraysEqual(t.shape, shape)) {
        throw new RangeError(`loadBertCheckpoint: ${file}: ${name} has shape [${t.shape}], config expects [${shape}]`);
      }
      store.set(name, tf.tensor(safetensorsToFloat32(t, name), shape, 'float32'));
    }
  } catch (err) {
    store.dispose();
    throw err;
  }
  const report: BertLoadReport = { ignored, dtypes: [...new Set([...raw.values()].map((t) => t.dtype))] };
  return { model: hasHead ? new BertForMaskedLM(config, store) : new BertModel(config, store, ''), report };
}

/** Like `loadBertCheckpoint`, but the checkpoint must have the MLM head. */
export async function loadBertForMaskedLM(dir: string): Promise<{ model: BertForMaskedLM; report: BertLoadReport }> {
  const { model, report } = await loadBertCheckpoint(dir);
  if (!(model instanceof BertForMaskedLM)) {
    model.dispose();
    throw new Error(`loadBertForMaskedLM: ${dir} has no MLM head (cls.predictions.* tensors)`);
  }
  return { model, report };
}

/**
 * Writes config.json + model.safetensors (float32, Hugging Face names, each file atomically) so
 * `BertForMaskedLM.from_pretrained(dir)` in Python transformers loads it; the decoder weight is
 * not written because it is tied to the word embeddings (as save_pretrained does).
 */
export async function saveBertCheckpoint(model: BertForMaskedLM | BertModel, dir: string): Promise<void> {
  const entries: [string, SafetensorsTensor][] = [];
  for (const name of [...model.params.names()].sort()) {
    entries.push([name, { dtype: 'F32', shape: model.params.shape(name), data: await model.params.toFloat32(name) }]);
  }
  await writeSafetensors(join(dir, 'model.safetensors'), entries, { format: 'pt' });
  const architecture = model instanceof BertForMaskedLM ? 'BertForMaskedLM' : 'BertModel';
  await writeFileAtomic(join(dir, 'config.json'), JSON.stringify(bertConfigToJson(model.config, architecture), null, 2) + '\n');
}
