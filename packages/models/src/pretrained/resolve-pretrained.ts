/**
 * What `--init-from` / `init_from` may name, turned into a Hugging Face BERT directory: a known
 * pretrained name (fetched into the cache), an HF directory (used as it is), or an ONNX export —
 * a .onnx file or a directory holding model.onnx or onnx/model.onnx, with tokenizer.json — which is
 * imported once into the cache, keyed by the file's sha256.
 */
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { importBertOnnxToDirectory } from '../bert/onnx-import';
import { defaultCacheDir, fetchPretrained, sha256File, type FetchPretrainedOptions } from './fetch-pretrained';
import { PRETRAINED_MODELS } from './registry';

export interface ResolvedPretrained {
  /** A Hugging Face BERT directory loadBertCheckpoint and BertTokenizer.fromDirectory read. */
  dir: string;
  kind: 'name' | 'hf-dir' | 'onnx';
}

/** Whether `dir` holds an HF checkpoint (config.json and safetensors weights). */
function isHfDir(dir: string): boolean {
  return existsSync(join(dir, 'config.json')) && (existsSync(join(dir, 'model.safetensors')) || existsSync(join(dir, 'model.safetensors.index.json')));
}

export async function resolvePretrained(spec: string, options: FetchPretrainedOptions = {}): Promise<ResolvedPretrained> {
  const fn = 'resolvePretrained';
  if (Object.hasOwn(PRETRAINED_MODELS, spec) && !existsSync(spec)) return { dir: (await fetchPretrained(spec, options)).dir, kind: 'name' };
  if (!existsSync(spec)) {
    throw new Error(`${fn}: "${spec}" is not a known pretrained name (${Object.keys(PRETRAINED_MODELS).join(', ')}) and no such file or directory exists`);
  }
  let onnx: string | undefined;
  if ((await stat(spec)).isDirectory()) {
    if (isHfDir(spec)) return { dir: spec, kind: 'hf-dir' };
    onnx = ['model.onnx', join('onnx', 'model.onnx')].map((n) => join(spec, n)).find((p) => existsSync(p));
    if (onnx === undefined) throw new Error(`${fn}: ${spec} holds neither a Hugging Face BERT checkpoint (config.json + model.safetensors) nor an ONNX export (model.onnx or onnx/model.onnx)`);
  } else if (spec.endsWith('.onnx')) onnx = spec;
  else throw new Error(`${fn}: ${spec} is a file but not an .onnx export; give a directory or a .onnx file`);

  // optimum / Xenova layouts keep tokenizer.json beside model.onnx or one folder up (onnx/model.onnx).
  const tokenizerJson = [dirname(onnx), dirname(dirname(onnx))].map((d) => join(d, 'tokenizer.json')).find((p) => existsSync(p));
  if (tokenizerJson === undefined) throw new Error(`${fn}: no tokenizer.json beside ${onnx} (nor one folder up); the import needs the export's tokenizer`);
  const sha = await sha256File(onnx);
  const dir = join(options.cacheDir ?? defaultCacheDir(options.env), 'imported', sha.slice(0, 16));
  if (!isHfDir(dir)) {
    options.log?.(`${fn}: importing ${onnx} into ${dir}`);
    await importBertOnnxToDirectory(onnx, dir, { tokenizerJson });
  }
  return { dir, kind: 'onnx' };
}
