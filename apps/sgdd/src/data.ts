import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, SkipCounter, readLines, writeFileAtomic } from '@proj/core';
import type { BertTokenizer } from '@proj/models';
import { CliError } from './cli-io';

/** One example: the decoder produces `target`, conditioned on the vector of `source` (the same sentence in reconstruction). */
export interface TextPair {
  source: string;
  target: string;
  /** file:line it came from. */
  where: string;
}

/** Plain text, one sentence per line. Empty lines are skipped and counted with file:line. */
export async function readSentences(file: string, skipped: SkipCounter): Promise<TextPair[]> {
  const out: TextPair[] = [];
  for await (const { line, text, invalidUtf8 } of readLines(file, { maxLineBytes: 1 << 16 })) {
    const t = text.trim();
    if (invalidUtf8) skipped.add('not UTF-8', `${file}:${line}`);
    else if (t === '') skipped.add('empty line', `${file}:${line}`);
    else out.push({ source: t, target: t, where: `${file}:${line}` });
  }
  return out;
}

/**
 * Paraphrase pairs in PAWS-X's TSV (`id  sentence1  sentence2  label`, a header line): the label-1
 * rows, both directions (1 → 2 and 2 → 1). Other labels are left out (not counted as bad input);
 * short rows and empty sentences are skipped and counted.
 */
export async function readPawsPairs(file: string, skipped: SkipCounter): Promise<TextPair[]> {
  const out: TextPair[] = [];
  for await (const { line, text } of readLines(file, { maxLineBytes: 1 << 16 })) {
    if (line === 1 && text.startsWith('id\t')) continue;
    if (text.trim() === '') {
      skipped.add('empty line', `${file}:${line}`);
      continue;
    }
    const cols = text.split('\t');
    if (cols.length < 4) {
      skipped.add('not 4 TAB-separated columns', `${file}:${line}`);
      continue;
    }
    const [a, b, label] = [cols[1].trim(), cols[2].trim(), cols[3].trim()];
    if (label !== '1') continue;
    if (a === '' || b === '') {
      skipped.add('empty sentence', `${file}:${line}`);
      continue;
    }
    const where = `${file}:${line}`;
    out.push({ source: a, target: b, where }, { source: b, target: a, where });
  }
  return out;
}

/**
 * [CLS] text [SEP] ids of at most `maxLength` tokens. A longer sentence is cut to its first
 * maxLength − 2 tokens and counted, or refused (`refuseLong`) with its file:line.
 */
export function tokenizeBounded(tokenizer: BertTokenizer, text: string, maxLength: number, where: string, long: { refuse: boolean; truncated: SkipCounter }): Int32Array {
  const ids = tokenizer.encode(text).input_ids;
  if (ids.length <= maxLength) return Int32Array.from(ids);
  if (long.refuse) {
    const [file, line] = [where.slice(0, where.lastIndexOf(':')), Number(where.slice(where.lastIndexOf(':') + 1))];
    throw new DataError(`${ids.length} tokens, more than ${maxLength} ([CLS] and [SEP] included); drop --refuse-long to truncate`, { file, line });
  }
  long.truncated.add('truncated', where);
  return Int32Array.from([...ids.slice(0, maxLength - 1), tokenizer.sepId]);
}

/** A prepared split on disk: `<split>.jsonl` (one record per example) + `<split>.vectors.f32` (row-major float32, little-endian). */
export interface PreparedRecord {
  source: string;
  target: string;
  where: string;
  /** Target ids, [CLS] ... [SEP]. */
  ids: number[];
}

export interface PreparedSplit {
  records: PreparedRecord[];
  /** The frozen-encoder vector of each record's source. */
  vectors: Float32Array[];
}

/** What `prepare` wrote, saved as prepare.json beside the splits. */
export interface PrepareInfo {
  task: 'reconstruction' | 'paraphrase';
  input: string;
  encoder: string;
  encoder_dir: string;
  vector_size: number;
  vocab_size: number;
  max_length: number;
  special_ids: { pad: number; cls: number; sep: number; mask: number };
  splits: Record<string, number>;
  skipped: number;
  truncated: number;
}

export const PREPARE_INFO = 'prepare.json';

export async function writeSplit(dir: string, split: string, data: PreparedSplit): Promise<void> {
  await writeFileAtomic(join(dir, `${split}.jsonl`), data.records.map((r) => JSON.stringify(r)).join('\n') + (data.records.length ? '\n' : ''));
  const size = data.vectors[0]?.length ?? 0;
  const flat = new Float32Array(data.vectors.length * size);
  data.vectors.forEach((v, i) => flat.set(v, i * size));
  await writeFileAtomic(join(dir, `${split}.vectors.f32`), Buffer.from(flat.buffer, flat.byteOffset, flat.byteLength));
}

export async function readPrepareInfo(dir: string, flag: string): Promise<PrepareInfo> {
  const file = join(dir, PREPARE_INFO);
  if (!existsSync(file)) throw new CliError(`${flag}: ${dir} is not a prepared directory (no ${PREPARE_INFO}; run \`sgdd prepare\` first)`);
  return JSON.parse(await readFile(file, 'utf8')) as PrepareInfo;
}

/** Reads a split written by `writeSplit`; the vector file must hold one vector per record. */
export async function readSplit(dir: string, split: string, info: PrepareInfo): Promise<PreparedSplit> {
  const jsonl = join(dir, `${split}.jsonl`);
  if (!existsSync(jsonl)) throw new CliError(`${dir}: no ${split}.jsonl (prepare wrote ${Object.keys(info.splits).join(', ')})`);
  const records = (await readFile(jsonl, 'utf8'))
    .split('\n')
    .filter((l) => l !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as PreparedRecord;
      } catch {
        throw new DataError('not JSON', { file: jsonl, line: i + 1 });
      }
    });
  const bytes = await readFile(join(dir, `${split}.vectors.f32`));
  const flat = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const E = info.vector_size;
  if (flat.length !== records.length * E) throw new DataError(`holds ${flat.length / E} vectors of ${E}, ${split}.jsonl has ${records.length} records`, { file: join(dir, `${split}.vectors.f32`) });
  return { records, vectors: records.map((_, i) => flat.slice(i * E, (i + 1) * E)) };
}
