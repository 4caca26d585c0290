import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, safetensorsToFloat32, writeSafetensors, type SafetensorsTensor } from '@proj/core';
import type { ParameterStore } from './parameter-store';

/** Writes every parameter of `store` (float32, sorted by name) to a safetensors file, atomically. */
export async function writeParameterFile(store: ParameterStore, file: string): Promise<void> {
  const entries: [string, SafetensorsTensor][] = [];
  for (const name of store.names().sort()) entries.push([name, { dtype: 'F32', shape: store.shape(name), data: await store.toFloat32(name) }]);
  await writeSafetensors(file, entries, { format: 'pt' });
}

/**
 * Reads a safetensors file into the store's existing Variables by name. Missing, unexpected
 * (except `ignore`d) and mis-shaped tensors are errors naming the file and the tensors.
 */
export async function readParameterFile(store: ParameterStore, file: string, caller: string, ignore: (name: string) => boolean = () => false): Promise<void> {
  const { tensors } = await readSafetensors(file);
  const missing = store.names().filter((n) => !tensors.has(n));
  const unexpected = [...tensors.keys()].filter((n) => !store.has(n) && !ignore(n));
  if (missing.length > 0 || unexpected.length > 0) {
    const list = (what: string, names: string[]) => (names.length ? `; ${what}: ${names.slice(0, 6).join(', ')}${names.length > 6 ? ', ...' : ''}` : '');
    throw new Error(`${caller}: ${file} does not match the model${list('missing', missing)}${list('unexpected', unexpected)}`);
  }
  for (const name of store.names()) {
    const tensor = tensors.get(name)!;
    const want = store.shape(name);
    if (tensor.shape.length !== want.length || tensor.shape.some((d, i) => d !== want[i])) {
      throw new Error(`${caller}: ${file}: '${name}' is [${tensor.shape}], the model needs [${want}]`);
    }
    const variable = store.get(name);
    tf.tidy(() => variable.assign(tf.tensor(safetensorsToFloat32(tensor, name), want, 'float32')));
  }
}
