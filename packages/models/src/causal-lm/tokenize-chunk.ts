import type { BpeTokenizer } from '../tokenizers/bpe-tokenizer';

/** A chunk of clean documents to tokenize (one worker task). */
export interface TokenizeTask {
  texts: string[];
}

/** Their ids back to back, and each document's length. */
export interface TokenizeResult {
  ids: Uint32Array;
  lengths: Uint32Array;
}

// encodeBatch in sub-batches of this many texts: the fastest split in tools/bench/tokenizer.ts.
const SUB_BATCH = 256;

/** Encodes a chunk without special tokens (the packer adds BOS / EOS itself). */
export async function tokenizeChunk(tokenizer: BpeTokenizer, task: TokenizeTask): Promise<TokenizeResult> {
  const rows: number[][] = [];
  for (let i = 0; i < task.texts.length; i += SUB_BATCH) {
    rows.push(...(await tokenizer.encodeBatch(task.texts.slice(i, i + SUB_BATCH), { addSpecialTokens: false })));
  }
  const lengths = Uint32Array.from(rows, (row) => row.length);
  const ids = new Uint32Array(lengths.reduce((n, length) => n + length, 0));
  let at = 0;
  for (const row of rows) {
    ids.set(row, at);
    at += row.length;
  }
  return { ids, lengths };
}
