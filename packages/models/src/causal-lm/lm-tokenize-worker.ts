// Worker thread for `prepareLmData`: tokenizes chunks of clean documents. Built as its own tsup
// entry, dist/lm-tokenize-worker.js beside dist/index.js (see prepare-data.ts).
import { serveWorkerTasks } from '@proj/core';
import { BpeTokenizer } from '../tokenizers/bpe-tokenizer';
import { tokenizeChunk, type TokenizeResult, type TokenizeTask } from './tokenize-chunk';

let tokenizer: Promise<BpeTokenizer> | undefined;

serveWorkerTasks<TokenizeTask, TokenizeResult, { tokenizerDir: string }>(async (task, data) => {
  tokenizer ??= BpeTokenizer.fromDirectory(data.tokenizerDir);
  return tokenizeChunk(await tokenizer, task);
});
