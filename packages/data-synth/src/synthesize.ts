import { open } from 'node:fs/promises';
import { AtomicFileWriter, Progress, SkipCounter, defaultThreadCount, mapInWorkers, resolveWorkerScript } from '@proj/core';
import { readCleanSentences, type CleanFormat } from './clean-corpus';
import { ConfusionSet, type ConfusionFile } from './confusion-set';
import { ErrorGenerator } from './error-generator';
import { parseSynthConfig, type SynthConfigInput } from './synth-config';
import type { SynthChunk, SynthChunkResult, SynthMode } from './synthesize-chunk';
import { SynthStats, type SynthSummary } from './synth-stats';
import type { SynthWorkerData } from './synth-worker';

export interface SynthesizeFileOptions {
  /** Clean sentences to corrupt. */
  cleanFile: string;
  /** Format of `cleanFile` (default 'txt'). */
  format?: CleanFormat;
  /** String field of jsonl / json records (default "text"). */
  textField?: string;
  /** Precomputed JSONL, written atomically. */
  outputFile: string;
  /** Synthesis config; missing fields take their defaults (see SynthConfigSchema). */
  config?: SynthConfigInput;
  /** Confusion files merged in order; none means the built-in homophone set. */
  confusionFiles?: readonly ConfusionFile[];
  /** 'throw' (default): a bad confusion line stops the job; 'skip': it is counted in `skipped`. */
  onBadConfusionLine?: 'throw' | 'skip';
  /** Static data (default) or one epoch of online augmentation. */
  mode?: SynthMode;
  /** Worker threads (default: all cores). The output does not depend on it. */
  threads?: number;
  /** Sentences per worker task (default 512). */
  chunkSize?: number;
  /** Show a progress line on stderr (default true); pass a Progress-compatible stream in tests. */
  progress?: boolean;
}

/**
 * Reads clean sentences, corrupts and labels them in worker threads and writes precomputed JSONL
 * in input order. Sentence i (0-based among the clean sentences read) uses the streams
 * `Rng.derive(seed, i, copy)` (static) or `Rng.derive(seed, epoch, i)` (online), so the file is
 * byte-identical for any `threads` and `chunkSize`. Bad input lines and impossible corruptions are
 * counted in the returned summary, never thrown.
 */
export async function synthesizeFile(options: SynthesizeFileOptions): Promise<SynthSummary> {
  const config = parseSynthConfig(options.config ?? {}, 'synthesizeFile');
  const mode = options.mode ?? { kind: 'static' };
  if (mode.kind === 'online' && !(Number.isInteger(mode.epoch) && mode.epoch >= 0)) {
    throw new RangeError(`synthesizeFile: mode.epoch must be an integer >= 0, got ${mode.epoch}`);
  }
  const chunkSize = options.chunkSize ?? 512;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new RangeError(`synthesizeFile: chunkSize must be an integer >= 1, got ${chunkSize}`);
  const threads = options.threads ?? defaultThreadCount();
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`synthesizeFile: threads must be an integer >= 1, got ${threads}`);

  const skipped = new SkipCounter();
  const confusionFiles = [...(options.confusionFiles ?? [])];
  const skipBadConfusionLines = options.onBadConfusionLine === 'skip';
  // Load once here so a bad file fails before any worker starts, and its skips are counted once.
  const confusion = await ConfusionSet.fromFiles(confusionFiles, { onBadLine: skipBadConfusionLines ? skipped : 'throw' });
  new ErrorGenerator(config, confusion); // validates config against the set before spawning workers

  const corpus = readCleanSentences(options.cleanFile, { format: options.format, textField: options.textField, skipped });
  const format = corpus.format;
  // Lines give an exact total for txt/jsonl (blank and bad lines are ticked too), hence a real ETA.
  const total = format === 'json' ? undefined : await countLines(options.cleanFile);
  const progress = new Progress({ label: 'synthesize', total, unit: 'lines', enabled: options.progress ?? true });
  let linesDone = 0;

  async function* chunks(): AsyncGenerator<SynthChunk & { lastLine: number }> {
    let texts: string[] = [];
    let start = 0;
    let lastLine = 0;
    for await (const sentence of corpus) {
      texts.push(sentence.text);
      lastLine = sentence.line;
      if (texts.length === chunkSize) {
        yield { start, texts, lastLine };
        start += texts.length;
        texts = [];
      }
    }
    if (texts.length > 0) yield { start, texts, lastLine };
    if (total !== undefined) lastLine = total;
    yield { start: start + texts.length, texts: [], lastLine }; // ticks trailing blank/bad lines
  }

  const workerData: SynthWorkerData = { config, confusionFiles, mode, skipBadConfusionLines };
  const script = resolveWorkerScript(import.meta.url, 'synth-worker');
  const stats = new SynthStats();
  const writer = await AtomicFileWriter.open(options.outputFile);
  try {
    const lastLines: number[] = [];
    const tasks = (async function* () {
      for await (const chunk of chunks()) {
        lastLines.push(chunk.lastLine);
        yield { start: chunk.start, texts: chunk.texts } satisfies SynthChunk;
      }
    })();
    let index = 0;
    for await (const result of mapInWorkers<SynthChunk, SynthChunkResult>(script, tasks, { threads, workerData })) {
      await writer.write(result.jsonl);
      stats.merge(result.stats);
      const lastLine = lastLines[index++];
      progress.tick(format === 'json' ? result.stats.sentences : lastLine - linesDone);
      linesDone = lastLine;
    }
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  progress.finish();
  return stats.summary(skipped);
}

/** Newlines in a file, plus one for a last line without a newline. */
async function countLines(file: string): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let lines = 0;
    let last = 0x0a;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      const data = buffer.subarray(0, bytesRead);
      for (let at = data.indexOf(0x0a); at !== -1; at = data.indexOf(0x0a, at + 1)) lines++;
      last = buffer[bytesRead - 1];
    }
    return last === 0x0a ? lines : lines + 1;
  } finally {
    await handle.close();
  }
}
