import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { prepareLmData, type PrepareLmDataResult } from '@proj/models';
import { Option, type Command } from 'commander';
import { bundled } from '../bundled-data';
import { type CliIO, CliError, log } from '../cli-io';
import { numberFlag } from '../flags';

export interface PrepareCommandOptions {
  input: string[];
  outputDir: string;
  tokenizer: string;
  format: 'auto' | 'jsonl' | 'text';
  field: string;
  wrap: boolean;
  threads: number;
  chunkLines: number;
  fresh: boolean;
  progress: boolean;
}

export async function runPrepare(options: PrepareCommandOptions, io: CliIO): Promise<PrepareLmDataResult & { outputDir: string }> {
  for (const file of options.input) if (!existsSync(file)) throw new CliError(`--input: file not found: ${file}`);
  if (!existsSync(join(options.tokenizer, 'tokenizer.json'))) throw new CliError(`--tokenizer: no tokenizer.json in ${options.tokenizer}`);
  log(io, `prepare: ${options.input.join(', ')} → ${options.outputDir} (tokenizer ${options.tokenizer}, ${options.threads === 0 ? 'tokenizing in the main thread' : `${options.threads} worker threads`})`);
  const result = await prepareLmData({
    inputs: options.input,
    outputDir: options.outputDir,
    tokenizerDir: options.tokenizer,
    format: options.format,
    field: options.field,
    wrap: options.wrap,
    threads: options.threads,
    chunkLines: options.chunkLines,
    fresh: options.fresh,
    progress: options.progress,
  });
  const { stats } = result;
  if (result.outcome === 'already-done') log(io, `prepare: ${options.outputDir} already holds this corpus (--fresh redoes it)`);
  log(io, `prepare: ${stats.documents.toLocaleString('en')} documents, ${stats.tokens.toLocaleString('en')} tokens (${stats.dtype}); ${stats.duplicates} duplicates and ${stats.rejected} rejected of ${stats.lines} lines`);
  for (const example of stats.reject_examples) log(io, `  skipped ${example}`);
  return { ...result, outputDir: options.outputDir };
}

export function registerPrepare(program: Command, io: CliIO, report: (result: unknown) => void): void {
  program
    .command('prepare')
    .description('Clean, deduplicate, tokenize and pack a corpus for pretraining (resumable: rerun after a kill to continue)')
    .requiredOption('--input <files...>', 'corpus files: JSONL records or plain text, one document a line')
    .requiredOption('--output-dir <dir>', 'gets tokens.bin, index.bin and stats.json')
    .option('--tokenizer <dir>', 'directory with tokenizer.json (+ tokenizer_config.json)', bundled.tokenizer)
    .addOption(new Option('--format <format>', 'input format (auto: .jsonl/.json are JSONL)').choices(['auto', 'jsonl', 'text']).default('auto'))
    .option('--field <name>', 'the JSONL field holding the text', 'text')
    .option('--no-wrap', 'do not put BOS before and EOS after each document')
    .option('--threads <n>', 'worker threads for tokenizing (0: the main thread, where the Rust tokenizer already uses every core)', numberFlag('--threads', { integer: true, min: 0 }), 0)
    .option('--chunk-lines <n>', 'lines per chunk (the unit of work and of checkpoints)', numberFlag('--chunk-lines', { integer: true, min: 1 }), 2048)
    .option('--fresh', 'discard an earlier run in --output-dir (finished or not) and start over', false)
    .option('--no-progress', 'no progress line on stderr')
    .action(async (opts: PrepareCommandOptions) => report(await runPrepare(opts, io)));
}
