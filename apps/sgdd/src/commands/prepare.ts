import { Progress, Rng, SkipCounter, writeFileAtomic } from '@proj/core';
import { initBackend } from '@proj/models';
import { Option, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError, log, type CliIO } from '../cli-io';
import { PREPARE_INFO, readPawsPairs, readSentences, tokenizeBounded, writeSplit, type PrepareInfo, type PreparedRecord, type TextPair } from '../data';
import { SHARED_BGE_DIR, openEncoder } from '../encoder';
import { numberFlag } from '../flags';

export interface PrepareOptions {
  input: string;
  format: 'lines' | 'paws';
  outputDir: string;
  encoder: string;
  from?: string;
  maxLength: number;
  refuseLong: boolean;
  devSize: number;
  limit: number;
  seed: number;
  batchSize: number;
  progress: boolean;
}

export interface PrepareSummary {
  output_dir: string;
  task: PrepareInfo['task'];
  splits: Record<string, number>;
  skipped: number;
  skipped_examples: string[];
  truncated: number;
  encoder_dir: string;
  vector_size: number;
}

/**
 * Reads sentences (reconstruction) or PAWS-X pairs (paraphrase), tokenizes with the encoder's
 * tokenizer (≤ --max-length tokens: truncated and counted, or refused), splits off --dev-size
 * examples (a pair's two directions stay in one split), encodes every source once with the frozen
 * encoder and writes the splits with their vectors.
 */
export async function runPrepare(o: PrepareOptions, io: CliIO): Promise<PrepareSummary> {
  if (!existsSync(o.input)) throw new CliError(`--input: file not found: ${o.input}`);
  if (statSync(o.input).isDirectory()) throw new CliError(`--input: ${o.input} is a directory, expected a file`);
  if (existsSync(o.outputDir) && !statSync(o.outputDir).isDirectory()) throw new CliError(`--output-dir: ${o.outputDir} is a file, expected a directory`);
  const skipped = new SkipCounter();
  const pairs = o.format === 'paws' ? await readPawsPairs(o.input, skipped) : await readSentences(o.input, skipped);
  if (skipped.count) log(io, `prepare: ${skipped.summary()}; first: ${skipped.examples.slice(0, 5).join(', ')}`);
  if (pairs.length === 0) throw new CliError(`--input: ${o.input} has no usable ${o.format === 'paws' ? 'label-1 pairs' : 'sentences'}`);

  // Split by source line, so both directions of a pair land in the same split.
  const groups = new Map<string, TextPair[]>();
  for (const p of pairs) groups.set(p.where, [...(groups.get(p.where) ?? []), p]);
  const keys = new Rng(o.seed).shuffle([...groups.keys()]);
  const devKeys: string[] = [];
  let devCount = 0;
  while (devCount < o.devSize && devKeys.length < keys.length - 1) {
    devKeys.push(keys[devKeys.length]);
    devCount += groups.get(devKeys[devKeys.length - 1])!.length;
  }
  const trainKeys = keys.slice(devKeys.length);
  const take = (ks: string[], limit: number) => ks.flatMap((k) => groups.get(k)!).slice(0, limit > 0 ? limit : undefined);
  const splits = { train: take(trainKeys, o.limit), dev: take(devKeys, 0) };

  await initBackend({ backend: 'cpu' }); // tfjs only holds the weights while they are exported; onnxruntime encodes
  const { dir, tokenizer, encoder } = await openEncoder(o.encoder, o.from, io);
  log(io, `prepare: encoder ${o.encoder} (${dir}), vectors of ${encoder.size}, onnxruntime`);
  const truncated = new SkipCounter();
  const long = { refuse: o.refuseLong, truncated };
  await mkdir(o.outputDir, { recursive: true });
  const counts: Record<string, number> = {};
  try {
    for (const [split, items] of Object.entries(splits)) {
      const records: PreparedRecord[] = items.map((p) => ({ ...p, ids: Array.from(tokenizeBounded(tokenizer, p.target, o.maxLength, p.where, long)) }));
      const sources = items.map((p, i) => (p.source === p.target ? Int32Array.from(records[i].ids) : tokenizeBounded(tokenizer, p.source, o.maxLength, p.where, long)));
      const progress = new Progress({ label: `encode ${split}`, total: sources.length, unit: 'sent', stream: io.stderr, enabled: o.progress });
      const vectors: Float32Array[] = [];
      for (let i = 0; i < sources.length; i += o.batchSize) {
        vectors.push(...(await encoder.encode(sources.slice(i, i + o.batchSize), o.batchSize)));
        progress.tick(Math.min(o.batchSize, sources.length - i));
      }
      progress.finish();
      await writeSplit(o.outputDir, split, { records, vectors });
      counts[split] = records.length;
    }
  } finally {
    await encoder.release();
  }
  if (truncated.count) log(io, `prepare: truncated ${truncated.count} sentences longer than ${o.maxLength} tokens; first: ${truncated.examples.slice(0, 5).join(', ')}`);
  const info: PrepareInfo = {
    task: o.format === 'paws' ? 'paraphrase' : 'reconstruction',
    input: o.input,
    encoder: o.encoder,
    encoder_dir: dir,
    vector_size: encoder.size,
    vocab_size: tokenizer.vocab.size,
    max_length: o.maxLength,
    special_ids: { pad: tokenizer.padId, cls: tokenizer.clsId, sep: tokenizer.sepId, mask: tokenizer.maskId },
    splits: counts,
    skipped: skipped.count,
    truncated: truncated.count,
  };
  await writeFileAtomic(join(o.outputDir, PREPARE_INFO), `${JSON.stringify(info, null, 2)}\n`);
  return { output_dir: o.outputDir, task: info.task, splits: counts, skipped: skipped.count, skipped_examples: skipped.examples, truncated: truncated.count, encoder_dir: dir, vector_size: encoder.size };
}

export function registerPrepare(program: Command, io: CliIO, report: (r: unknown) => void): void {
  program
    .command('prepare')
    .description('Tokenize and encode sentences (reconstruction) or PAWS-X pairs (paraphrase) with the frozen encoder; write train/dev splits with cached vectors')
    .requiredOption('--input <file>', 'one sentence per line (--format lines) or a PAWS-X TSV (--format paws: label-1 rows, both directions)')
    .addOption(new Option('--format <name>', 'input layout').choices(['lines', 'paws']).default('lines'))
    .option('--output-dir <dir>', 'where the splits go', 'runs/sgdd/prepared')
    .option('--encoder <spec>', 'frozen encoder: a pretrained name, a Hugging Face BERT directory or an ONNX export', 'bge-small-zh')
    .option('--from <path>', `local files for a pretrained name (default ${SHARED_BGE_DIR} when present)`)
    .option('--max-length <n>', 'tokens per sentence, [CLS] and [SEP] included; longer ones are truncated and counted', numberFlag('--max-length', { integer: true, min: 3 }), 64)
    .option('--refuse-long', 'refuse (exit 2, file:line) a sentence over --max-length instead of truncating it', false)
    .option('--dev-size <n>', 'held-out examples', numberFlag('--dev-size', { integer: true, min: 0 }), 500)
    .option('--limit <n>', 'training examples kept after the split (0: all)', numberFlag('--limit', { integer: true, min: 0 }), 0)
    .option('--seed <n>', 'the split', numberFlag('--seed', { integer: true }), 42)
    .option('--batch-size <n>', 'sentences per encoder call', numberFlag('--batch-size', { integer: true, min: 1 }), 32)
    .option('--no-progress', 'no progress lines')
    .action(async (opts: PrepareOptions) => report(await runPrepare(opts, io)));
}
