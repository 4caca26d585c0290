import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, readSafetensors, safetensorsToFloat32, writeFileAtomic, writeSafetensors, type SafetensorsTensor } from '@proj/core';
import { parseSavedSgddConfig } from './config';
import { SgddModel } from './model';

export const SGDD_CONFIG_FILE = 'sgdd_config.json';
export const SGDD_WEIGHTS_FILE = 'model.safetensors';

/** Writes `sgdd_config.json` and `model.safetensors` (float32, parameter names, sorted) into `dir`, atomically. */
export async function saveSgdd(model: SgddModel, dir: string): Promise<void> {
  const entries: [string, SafetensorsTensor][] = [];
  for (const name of model.params.names().sort()) entries.push([name, { dtype: 'F32', shape: model.params.shape(name), data: await model.params.toFloat32(name) }]);
  await writeSafetensors(join(dir, SGDD_WEIGHTS_FILE), entries, { format: 'pt' });
  await writeFileAtomic(join(dir, SGDD_CONFIG_FILE), `${JSON.stringify(model.config, null, 2)}\n`);
}

/** Reads `model.safetensors` from `dir` into the model's Variables; missing, unexpected or mis-shaped tensors are errors. */
export async function loadSgddWeights(model: SgddModel, dir: string): Promise<void> {
  const file = join(dir, SGDD_WEIGHTS_FILE);
  const { tensors } = await readSafetensors(file);
  const names = model.params.names();
  const missing = names.filter((n) => !tensors.has(n));
  const unexpected = [...tensors.keys()].filter((n) => !model.params.has(n));
  if (missing.length > 0 || unexpected.length > 0) {
    throw new Error(`loadSgddWeights: ${file} does not match the model` + (missing.length ? `; missing: ${missing.slice(0, 6).join(', ')}` : '') + (unexpected.length ? `; unexpected: ${unexpected.slice(0, 6).join(', ')}` : ''));
  }
  for (const name of names) {
    const t = tensors.get(name)!;
    const want = model.params.shape(name);
    if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) throw new Error(`loadSgddWeights: ${file}: '${name}' is [${t.shape}], the model needs [${want}]`);
    const v = model.params.get(name);
    tf.tidy(() => v.assign(tf.tensor(safetensorsToFloat32(t, name), want, 'float32')));
  }
}

/** A model saved by `saveSgdd`: its config (validated, file named in errors; a file older than a key gets the legacy value), then its weights. */
export async function loadSgdd(dir: string): Promise<SgddModel> {
  const configFile = join(dir, SGDD_CONFIG_FILE);
  const config = parseSavedSgddConfig(JSON.parse(await readFile(configFile, 'utf8')), `loadSgdd(${configFile})`);
  const model = SgddModel.random(config, new Rng(0));
  try {
    await loadSgddWeights(model, dir);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}
