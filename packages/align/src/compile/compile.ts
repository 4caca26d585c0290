import { AtomicFileWriter, Progress, SkipCounter, defaultThreadCount, mapInWorkers } from '@proj/core';
import { compileWorkerScript } from '../compile-worker-script';
import { DEFAULT_MAX_INSERT_K } from '../types';
import { detectFormat } from './detect-format';
import { labelBatch, type LabelBatchOptions, type LabelBatchResult } from './label-batch';
import { readMucgec } from './mucgec';
import { COMPILE_FORMATS, type CompileFormat, type LabelItem, type MultiTargetPolicy, type SourceItem } from './records';
import { defaultTruthPath, readSighanOfficial } from './sighan-official';
import { readSighanSgml } from './sighan-sgml';
import { readSighanTsv } from './sighan-tsv';
import { readTsv } from './tsv';

export interface CompileOptions {
  /** Dataset file (for sighan-official: the TestInput file). */
  input: string;
  /** Output JSONL; rejects go to `<output>.rejects.jsonl`. Both are written atomically. */
  output: string;
  /** Input format; 'auto' (default) guesses from the name and first lines (see detectFormat). */
  format?: CompileFormat | 'auto';
  /** sighan-official truth file; default: the input name with Input → Truth. */
  truth?: string;
  /** Sources with several references (MuCGEC): 'all' (default, one record each) or 'closest'. */
  multiTarget?: MultiTargetPolicy;
  /** Most `[MASK]`s inserted after one slot (default DEFAULT_MAX_INSERT_K = 3). */
  maxInsertK?: number;
  /** Tokenize runs of ASCII letters/digits as one token (default false). */
  groupAsciiAlnum?: boolean;
  /** Worker threads (default: all cores); 1 labels on this thread without workers. */
  threads?: number;
  /** Records per worker task: large enough to amortise messaging (default 256). */
  batchSize?: number;
  /** Progress line on stderr (default true); set false in tests and library use. */
  progress?: boolean;
}

export interface CompileSummary {
  format: CompileFormat;
  output: string;
  rejectsPath: string;
  /** Input records read (lines, or SGML sentences), including skipped and rejected ones. */
  read: number;
  /** Records written (MuCGEC with multiTarget 'all' writes one per reference). */
  written: number;
  /** Rejected records by reason code; details are in the rejects file. */
  rejected: Record<string, number>;
  /** Malformed input lines, with the first few as `file:line: message`. */
  skipped: { count: number; examples: string[] };
}

/** Default records per worker task. */
const DEFAULT_BATCH_SIZE = 256;

function readItems(format: CompileFormat, options: CompileOptions): AsyncGenerator<SourceItem> {
  switch (format) {
    case 'sighan-tsv':
      return readSighanTsv(options.input);
    case 'sighan-official':
      return readSighanOfficial(options.input, options.truth ?? defaultTruthPath(options.input));
    case 'sighan-sgml':
      return readSighanSgml(options.input);
    case 'mucgec':
      return readMucgec(options.input);
    case 'tsv':
      return readTsv(options.input);
  }
}

async function* batchesOf(
  items: AsyncIterable<SourceItem>,
  size: number,
  onRead: () => void,
  skips: SkipCounter,
): AsyncGenerator<LabelItem[]> {
  let batch: LabelItem[] = [];
  for await (const item of items) {
    onRead();
    if (item.kind === 'skip') {
      skips.add('malformed', `${item.file}:${item.line}: ${item.message}`);
      continue;
    }
    batch.push(item);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/**
 * Compiles a dataset of (source, target) pairs into precomputed Gap-ReLM JSONL: one record per
 * line with the PrecomputedExample fields in order. Streams the input, labels batches in worker
 * threads, and writes records in input order whatever the thread count. A malformed line is
 * skipped and a record that cannot be labelled is rejected; neither stops the run.
 */
export async function compile(options: CompileOptions): Promise<CompileSummary> {
  const requested = options.format ?? 'auto';
  if (requested !== 'auto' && !COMPILE_FORMATS.includes(requested)) {
    throw new RangeError(`compile: format must be 'auto' or one of ${COMPILE_FORMATS.join(', ')}, got ${requested}`);
  }
  const threads = options.threads ?? defaultThreadCount();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`compile: threads must be an integer >= 1, got ${threads}`);
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`compile: batchSize must be an integer >= 1, got ${batchSize}`);
  const multiTarget = options.multiTarget ?? 'all';
  if (multiTarget !== 'all' && multiTarget !== 'closest') {
    throw new RangeError(`compile: multiTarget must be 'all' or 'closest', got ${multiTarget}`);
  }
  const maxInsertK = options.maxInsertK ?? DEFAULT_MAX_INSERT_K;
  if (!Number.isInteger(maxInsertK) || maxInsertK < 0) throw new RangeError(`compile: maxInsertK must be an integer >= 0, got ${maxInsertK}`);
  const labelOptions: LabelBatchOptions = { maxInsertK, groupAsciiAlnum: options.groupAsciiAlnum ?? false, multiTarget };

  const format = requested === 'auto' ? await detectFormat(options.input) : requested;
  const items = readItems(format, options);
  const rejectsPath = `${options.output}.rejects.jsonl`;
  const progress = new Progress({ label: `compile ${format}`, unit: 'rec', enabled: options.progress ?? true });
  const skips = new SkipCounter(10);
  const rejected: Record<string, number> = {};
  let read = 0;
  let written = 0;

  const out = await AtomicFileWriter.open(options.output);
  const rejectsOut = await AtomicFileWriter.open(rejectsPath);
  try {
    const batches = batchesOf(items, batchSize, () => read++, skips);
    const results: AsyncIterable<LabelBatchResult> =
      threads === 1
        ? (async function* () {
            for await (const batch of batches) yield labelBatch(batch, labelOptions);
          })()
        : mapInWorkers<LabelItem[], LabelBatchResult>(compileWorkerScript(), batches, { threads, workerData: labelOptions });
    for await (const result of results) {
      if (result.records !== '') await out.write(result.records);
      if (result.rejects !== '') await rejectsOut.write(result.rejects);
      written += result.written;
      for (const code of result.rejectCodes) rejected[code] = (rejected[code] ?? 0) + 1;
      progress.tick(result.items);
    }
    await out.commit();
    await rejectsOut.commit();
  } catch (error) {
    await out.abort();
    await rejectsOut.abort();
    throw error;
  }
  progress.finish();
  return {
    format,
    output: options.output,
    rejectsPath,
    read,
    written,
    rejected,
    skipped: { count: skips.count, examples: [...skips.examples] },
  };
}
