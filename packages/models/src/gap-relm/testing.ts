// Shared fixtures of the Gap-ReLM tests (not exported by the package).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfusionSet } from '@proj/data-synth';
import { buildCharVocab } from '../tokenizers/build-char-vocab';
import { BertTokenizer } from '../tokenizers/bert-tokenizer';
import type { GapRelmConfigInput } from './config';

const DATA = fileURLToPath(new URL('../../../../apps/gap-relm/data/', import.meta.url));

/** Short clean sentences (6..16 code points) from the repo's sample corpus, in file order. */
export function corpusSentences(count: number, minLength = 6, maxLength = 16): string[] {
  const lines = readFileSync(`${DATA}corpus/wiki.zh-cn.txt`, 'utf8').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const n = [...line].length;
    if (n >= minLength && n <= maxLength) out.push(line);
    if (out.length === count) break;
  }
  return out;
}

/** A char vocabulary over `sentences` plus their confusable characters (so corrupted text has ids). */
export function charTokenizer(sentences: string[], confusion?: ConfusionSet): BertTokenizer {
  const extra = confusion ? sentences.flatMap((s) => [...s].flatMap((c) => confusion.get(c).slice(0, 3))) : [];
  return new BertTokenizer(buildCharVocab([...sentences, extra.join('')]));
}

/** A confusion set restricted to the characters of `sentences` (small, so errors are learnable). */
export function localConfusion(sentences: string[], full: ConfusionSet): ConfusionSet {
  const chars = new Set(sentences.flatMap((s) => [...s]));
  const record: Record<string, string[]> = {};
  for (const c of chars) {
    const within = full.get(c).filter((x) => chars.has(x));
    if (within.length > 0) record[c] = within.slice(0, 3);
  }
  return ConfusionSet.fromRecord(record);
}

export async function samePinyin(): Promise<ConfusionSet> {
  return ConfusionSet.load({ path: `${DATA}confusion/same_pinyin.txt`, format: 'same_pinyin' });
}

/** A model small enough for unit tests on 2 CPU cores. */
export const TINY: GapRelmConfigInput = {
  hidden_size: 32,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 64,
  max_position_embeddings: 64,
  prompt_length: 2,
  dropout: 0,
};
