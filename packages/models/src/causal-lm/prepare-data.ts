import { createHash } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Progress, formatDuration, mapInWorkers, resolveWorkerScript, writeFileAtomic } from '@proj/core';
import { BpeTokenizer } from '../tokenizers/bpe-tokenizer';
import { cleanDocument, type CorpusFormat } from './clean-document';
import { readLinesFrom } from './line-cursor';
import { PACKED_FILES, bytesPerToken, encodeIndexBytes, encodeTokenBytes, tokenDTypeFor, type PackedStats, type TokenDType } from './packed-tokens';
import { tokenizeChunk, type TokenizeResult, type TokenizeTask } from './tokenize-chunk';

export interface PrepareLmDataOptions {
  /** Corpus files: JSONL records or plain text, one document a line. */
  inputs: string[];
  /** Gets tokens.bin, index.bin and stats.json (see packed-tokens.ts); `.prepare/` while running. */
  outputDir: string;
  /** A directory with tokenizer.json (and tokenizer_config.json for BOS / EOS). */
  tokenizerDir: string;
  /** 'auto' (default): `.jsonl` / `.json` files are JSONL, anything else plain text. */
  format?: CorpusFormat | 'auto';
  /** The JSONL field holding the text. */
  field?: string;
  /** Put the tokenizer's BOS before and EOS after every document (as minimind's pretraining does). */
  wrap?: boolean;
  /**
   * Worker threads for tokenizing; 0 (the default) tokenizes in this thread, where the Rust
   * tokenizer's encodeBatch already spreads over every core: on 2 cores workers only add copying
   * (tools/bench/prepare.ts). Reading, cleaning and deduplicating stay in this thread either way.
   */
  threads?: number;
  /** Lines per chunk: the unit of work and of checkpointing. */
  chunkLines?: number;
  /** Discard an unfinished or finished run in `outputDir` instead of resuming it / refusing. */
  fresh?: boolean;
  progress?: boolean;
  /** Test seams: called at the points where a kill must leave a resumable state. */
  hooks?: PrepareHooks;
}

export interface PrepareHooks {
  /** After chunk `k`'s tokens, index entries and hashes are on disk, before its checkpoint. */
  afterAppend?(chunk: number): void;
  /** After chunk `k`'s checkpoint. */
  afterCheckpoint?(chunk: number): void;
  /** During finalization, after each step: 'tokens', 'index', 'stats'. */
  afterFinalizeStep?(step: string): void;
}

/** stats.json of a prepared corpus. Holds no timings, so a resumed run writes the same bytes. */
export interface PreparedStats extends PackedStats {
  tokenizer: { sha256: string; bos_id: number | null; eos_id: number | null };
  wrap: boolean;
  field: string;
  inputs: { file: string; format: CorpusFormat; bytes: number }[];
  lines: number;
  duplicates: number;
  rejected: number;
  rejects: Record<string, number>;
  reject_examples: string[];
  length: { min: number; max: number; mean: number };
  /** Documents by token length, in power-of-two buckets ("1", "2-3", "4-7", ...). */
  length_histogram: Record<string, number>;
  fingerprint: string;
}

export interface PrepareLmDataResult {
  stats: PreparedStats;
  outcome: 'prepared' | 'resumed' | 'already-done';
  /** This run's wall time and rates (not in stats.json). */
  seconds: number;
  docsPerSecond: number;
  tokensPerSecond: number;
}

/** A refusal the caller should show as one line (output of other inputs in the way, missing input). */
export class PrepareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PrepareError';
  }
}

const WORK_DIR = '.prepare';
const HASH_BYTES = 16;
const MAX_EXAMPLES = 10;

interface Position {
  input: number;
  offset: number;
  line: number;
}

/** Everything a restart needs; written atomically after each chunk. */
interface PrepareState {
  fingerprint: string;
  phase: 'running' | 'finalizing';
  next: Position;
  chunks: number;
  documents: number;
  tokens: number;
  lines: number;
  duplicates: number;
  rejects: Record<string, number>;
  examples: string[];
  histogram: number[];
  minLength: number;
  maxLength: number;
}

interface ChunkMeta {
  end: Position;
  lines: number;
  duplicates: number;
  rejects: { reason: string; where: string }[];
  hashes: Buffer[];
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest();

function histogramLabel(bucket: number): string {
  const low = 2 ** bucket;
  const high = 2 ** (bucket + 1) - 1;
  return low === high ? String(low) : `${low}-${high}`;
}

/**
 * `mateconv prepare`: corpus files → clean documents (bad lines skipped and counted with
 * file:line, exact duplicates dropped) → ids (optionally in worker threads) → a packed token file, its index
 * and stats.json. Resumable: the state after every chunk is checkpointed, and a run killed at any
 * moment and started again writes the same bytes as an uninterrupted one.
 */
export async function prepareLmData(options: PrepareLmDataOptions): Promise<PrepareLmDataResult> {
  const started = performance.now();
  const field = options.field ?? 'text';
  const wrap = options.wrap ?? true;
  const chunkLines = options.chunkLines ?? 2048;
  const threads = options.threads ?? 0;
  if (options.inputs.length === 0) throw new PrepareError('prepareLmData: no input files');
  if (!Number.isInteger(chunkLines) || chunkLines < 1) throw new RangeError(`prepareLmData: chunkLines must be a positive integer, got ${chunkLines}`);
  if (!Number.isInteger(threads) || threads < 0) throw new RangeError(`prepareLmData: threads must be an integer >= 0, got ${threads}`);

  const inputs: PreparedStats['inputs'] = [];
  for (const file of options.inputs) {
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new PrepareError(`prepareLmData: input not found: ${file}`);
    const format = options.format && options.format !== 'auto' ? options.format : ['.jsonl', '.json'].includes(extname(file).toLowerCase()) ? 'jsonl' : 'text';
    inputs.push({ file, format, bytes: info.size });
  }
  const tokenizer = await BpeTokenizer.fromDirectory(options.tokenizerDir);
  const dtype: TokenDType = tokenDTypeFor(tokenizer.vocabSize);
  const bos = wrap ? tokenizer.special.bos?.id : undefined;
  const eos = wrap ? tokenizer.special.eos?.id : undefined;
  const tokenizerInfo = { sha256: sha256(tokenizer.tokenizerJson).toString('hex'), bos_id: bos ?? null, eos_id: eos ?? null };
  const fingerprint = sha256(JSON.stringify({ inputs, field, wrap, tokenizerInfo, dtype })).toString('hex');

  // 1. Finished before, or a run of other inputs in the way?
  const out = options.outputDir;
  const work = join(out, WORK_DIR);
  const statePath = join(work, 'state.json');
  const statsPath = join(out, PACKED_FILES.stats);
  if (options.fresh) {
    await rm(work, { recursive: true, force: true });
    for (const name of Object.values(PACKED_FILES)) await rm(join(out, name), { force: true });
  }
  let state: PrepareState | undefined = existsSync(statePath) ? (JSON.parse(await readFile(statePath, 'utf8')) as PrepareState) : undefined;
  if (!state && existsSync(statsPath)) {
    const stats = JSON.parse(await readFile(statsPath, 'utf8')) as PreparedStats;
    if (stats.fingerprint !== fingerprint) throw new PrepareError(`${out} already holds a corpus prepared from other inputs or options; use a new directory or --fresh`);
    return { stats, outcome: 'already-done', seconds: (performance.now() - started) / 1000, docsPerSecond: 0, tokensPerSecond: 0 };
  }
  if (state && state.fingerprint !== fingerprint) {
    throw new PrepareError(`${out} holds an unfinished run of other inputs or options; use a new directory or --fresh`);
  }
  const outcome = state ? 'resumed' : 'prepared';

  // 2. Open the growing files at the checkpoint's lengths (a kill may have left more behind).
  const width = bytesPerToken(dtype);
  const paths = { tokens: join(work, PACKED_FILES.tokens), index: join(work, PACKED_FILES.index), hashes: join(work, 'hashes.bin') };
  if (!state) {
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    state = {
      fingerprint, phase: 'running', next: { input: 0, offset: 0, line: 1 }, chunks: 0, documents: 0, tokens: 0, lines: 0,
      duplicates: 0, rejects: {}, examples: [], histogram: [], minLength: 0, maxLength: 0,
    };
  }
  const st = state;
  const seen = new Set<string>();
  const fds = { tokens: -1, index: -1, hashes: -1 };
  const lengths = { tokens: st.tokens * width, index: (st.documents + 1) * 8, hashes: st.documents * HASH_BYTES };
  if (st.phase === 'running') {
    for (const key of ['tokens', 'index', 'hashes'] as const) {
      if (!existsSync(paths[key])) closeSync(openSync(paths[key], 'w'));
      fds[key] = openSync(paths[key], 'r+');
      ftruncateSync(fds[key], lengths[key]);
    }
    if (st.documents === 0) writeSync(fds.index, encodeIndexBytes([0]), 0, 8, 0);
    const hashes = readFileSync(paths.hashes);
    for (let at = 0; at < hashes.length; at += HASH_BYTES) seen.add(hashes.subarray(at, at + HASH_BYTES).toString('base64'));
    await writeFileAtomic(statePath, JSON.stringify(st));
  }

  // 3. Read, clean and deduplicate in this thread (order decides which copy is kept); tokenize in workers.
  const pending: ChunkMeta[] = [];
  async function* chunks(): AsyncGenerator<TokenizeTask> {
    let texts: string[] = [];
    let meta: ChunkMeta = { end: st.next, lines: 0, duplicates: 0, rejects: [], hashes: [] };
    const flush = () => {
      pending.push(meta);
      const task = { texts };
      texts = [];
      meta = { end: meta.end, lines: 0, duplicates: 0, rejects: [], hashes: [] };
      return task;
    };
    for (let f = st.next.input; f < inputs.length; f++) {
      const { file, format } = inputs[f];
      const from = f === st.next.input ? st.next : { offset: 0, line: 1 };
      for await (const line of readLinesFrom(file, from)) {
        meta.lines++;
        meta.end = { input: f, ...line.next };
        const doc = cleanDocument(line.text, format, field);
        if (!doc.ok) {
          meta.rejects.push({ reason: doc.reason, where: `${file}:${line.line}: ${doc.reason}: ${doc.message}` });
        } else {
          const hash = sha256(doc.text).subarray(0, HASH_BYTES);
          const key = hash.toString('base64');
          if (seen.has(key)) meta.duplicates++;
          else {
            seen.add(key);
            meta.hashes.push(hash);
            texts.push(doc.text);
          }
        }
        if (meta.lines >= chunkLines) yield flush();
      }
      if (meta.lines > 0) yield flush();
    }
  }
  const results: AsyncIterable<TokenizeResult> =
    threads === 0
      ? (async function* () {
          for await (const task of chunks()) yield tokenizeChunk(tokenizer, task);
        })()
      : mapInWorkers<TokenizeTask, TokenizeResult>(resolveWorkerScript(import.meta.url, 'lm-tokenize-worker'), chunks(), {
          threads,
          workerData: { tokenizerDir: options.tokenizerDir },
        });

  const totalBytes = inputs.reduce((n, input) => n + input.bytes, 0);
  const bytesBefore = (p: Position) => inputs.slice(0, p.input).reduce((n, input) => n + input.bytes, 0) + (p.input < inputs.length ? p.offset : 0);
  const startBytes = bytesBefore(st.next);
  const startTokens = st.tokens;
  const progress = new Progress({
    label: 'prepare',
    unit: 'docs',
    enabled: options.progress ?? true,
    extra: (seconds) => {
      const done = bytesBefore(st.next) - startBytes;
      const left = totalBytes - bytesBefore(st.next);
      const rate = seconds > 0 ? done / seconds : 0;
      const eta = left <= 0 ? '' : `  ETA ${rate > 0 ? formatDuration(left / rate) : '?'}`;
      return `${Math.round(seconds > 0 ? (st.tokens - startTokens) / seconds : 0).toLocaleString('en')} tokens/s  ${((100 * bytesBefore(st.next)) / Math.max(1, totalBytes)).toFixed(1)}% of input${eta}`;
    },
  });

  if (st.phase === 'running') {
    for await (const result of results) {
      const meta = pending.shift()!;
      // Append the chunk: ids (wrapped), index entries, and the kept documents' hashes.
      const extra = (bos === undefined ? 0 : 1) + (eos === undefined ? 0 : 1);
      const ids = new Uint32Array(result.ids.length + extra * result.lengths.length);
      const ends: number[] = [];
      let from = 0;
      let at = 0;
      for (const length of result.lengths) {
        if (bos !== undefined) ids[at++] = bos;
        ids.set(result.ids.subarray(from, from + length), at);
        at += length;
        from += length;
        if (eos !== undefined) ids[at++] = eos;
        const docLength = length + extra;
        ends.push(st.tokens + at);
        const bucket = Math.floor(Math.log2(Math.max(1, docLength)));
        while (st.histogram.length <= bucket) st.histogram.push(0);
        st.histogram[bucket]++;
        st.minLength = st.documents + ends.length === 1 ? docLength : Math.min(st.minLength, docLength);
        st.maxLength = Math.max(st.maxLength, docLength);
      }
      const tokenBytes = encodeTokenBytes(ids, dtype);
      const indexBytes = encodeIndexBytes(ends);
      const hashBytes = Buffer.concat(meta.hashes);
      writeSync(fds.tokens, tokenBytes, 0, tokenBytes.length, lengths.tokens);
      writeSync(fds.index, indexBytes, 0, indexBytes.length, lengths.index);
      writeSync(fds.hashes, hashBytes, 0, hashBytes.length, lengths.hashes);
      lengths.tokens += tokenBytes.length;
      lengths.index += indexBytes.length;
      lengths.hashes += hashBytes.length;
      options.hooks?.afterAppend?.(st.chunks);

      // Checkpoint: the state that matches those lengths.
      st.tokens += ids.length;
      st.documents += result.lengths.length;
      st.lines += meta.lines;
      st.duplicates += meta.duplicates;
      for (const reject of meta.rejects) {
        st.rejects[reject.reason] = (st.rejects[reject.reason] ?? 0) + 1;
        if (st.examples.length < MAX_EXAMPLES) st.examples.push(reject.where);
      }
      st.next = meta.end;
      st.chunks++;
      await writeFileAtomic(statePath, JSON.stringify(st));
      options.hooks?.afterCheckpoint?.(st.chunks - 1);
      progress.tick(result.lengths.length);
    }
    for (const fd of Object.values(fds)) closeSync(fd);
    st.phase = 'finalizing';
    await writeFileAtomic(statePath, JSON.stringify(st));
  }

  // 4. Finalize: move the files into place, then stats.json (its presence means done), then clean up.
  for (const key of ['tokens', 'index'] as const) {
    if (existsSync(paths[key])) await rename(paths[key], join(out, PACKED_FILES[key]));
    options.hooks?.afterFinalizeStep?.(key);
  }
  const rejected = Object.values(st.rejects).reduce((a, b) => a + b, 0);
  const stats: PreparedStats = {
    format: 'mateconv-packed-tokens/1',
    dtype,
    vocab_size: tokenizer.vocabSize,
    documents: st.documents,
    tokens: st.tokens,
    tokenizer: tokenizerInfo,
    wrap,
    field,
    inputs,
    lines: st.lines,
    duplicates: st.duplicates,
    rejected,
    rejects: Object.fromEntries(Object.entries(st.rejects).sort(([a], [b]) => a.localeCompare(b))),
    reject_examples: st.examples,
    length: { min: st.minLength, max: st.maxLength, mean: st.documents === 0 ? 0 : Number((st.tokens / st.documents).toFixed(3)) },
    length_histogram: Object.fromEntries(st.histogram.map((count, bucket) => [histogramLabel(bucket), count])),
    fingerprint,
  };
  await writeFileAtomic(statsPath, `${JSON.stringify(stats, null, 2)}\n`);
  options.hooks?.afterFinalizeStep?.('stats');
  await rm(work, { recursive: true, force: true });
  progress.finish();

  const seconds = (performance.now() - started) / 1000;
  return { stats, outcome, seconds, docsPerSecond: progress.count / seconds, tokensPerSecond: (st.tokens - startTokens) / seconds };
}
