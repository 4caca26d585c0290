import { AtomicFileWriter, Progress, SkipCounter } from '@proj/core';
import type { GapRelmDecodeConfig } from '@proj/sampling';
import type { Command } from 'commander';
import { type CliIO, CliError, log, requireDistinctPaths, requireFile } from '../cli-io';
import { decodeConfigFrom } from '../decode-config';
import { parseIntFlag } from '../flags';
import { type CorrectorOptions, addCorrectorOptions, loadCorrector } from '../load-corrector';
import { readPairLines } from '../pairs-file';

/** `engine` defaults to tfjs here. */
export interface PredictCommandOptions extends CorrectorOptions {
  input?: string;
  text?: string[];
  output?: string;
  edits?: string;
  thresholds?: string;
  chunk: number;
  progress: boolean;
  /** Decoding settings (see decodeConfigFrom: defaults, then --thresholds, then typed flags). */
  decode: Partial<GapRelmDecodeConfig>;
}

/**
 * Corrects sentences (--text, or one per line of --input: text, TSV, SIGHAN or JSONL, the source
 * column is read) and writes one corrected sentence per line, in input order.
 */
export async function runPredict(options: PredictCommandOptions, io: CliIO) {
  requireFile(options.model, '--model');
  requireDistinctPaths({ '--input': options.input, '--output': options.output, '--edits': options.edits });
  const skips = new SkipCounter();
  let texts: string[];
  if (options.text !== undefined && options.text.length > 0) texts = options.text;
  else if (options.input !== undefined) {
    requireFile(options.input, '--input');
    // A malformed line still gets an output line (its raw text, uncorrected) so outputs stay line-aligned.
    texts = (await readPairLines(options.input, skips)).map((pair) => pair?.source ?? '');
  } else throw new CliError('give --input <file> or --text <sentence...>');

  const model = await loadCorrector(options, io);

  const out = options.output === undefined ? null : await AtomicFileWriter.open(options.output);
  const edits = options.edits === undefined ? null : await AtomicFileWriter.open(options.edits);
  const progress = new Progress({ label: 'predict', total: texts.length, unit: 'sent', stream: io.stderr, enabled: options.progress });
  let changed = 0;
  try {
    for (let start = 0; start < texts.length; start += options.chunk) {
      const corrections = await model.correct(texts.slice(start, start + options.chunk), options.decode);
      for (const c of corrections) {
        if (c.corrected !== c.source) changed++;
        if (out) await out.write(`${c.corrected}\n`);
        else io.stdout.write(`${c.corrected}\n`);
        if (edits) await edits.write(`${JSON.stringify(c)}\n`);
      }
      progress.tick(corrections.length);
    }
    await out?.commit();
    await edits?.commit();
  } catch (error) {
    await out?.abort();
    await edits?.abort();
    throw error;
  } finally {
    await model.release();
  }
  progress.finish();
  if (skips.count > 0) log(io, `predict: ${skips.summary()} (written uncorrected)`);
  log(io, `predict: ${texts.length} sentences, ${changed} changed`);
  return { sentences: texts.length, changed };
}

export function registerPredict(program: Command, io: CliIO): void {
  const command = program
    .command('predict')
    .description('Correct sentences with a trained Gap-ReLM model: one corrected sentence per line, in order')
    .requiredOption('--model <dir>', 'a model directory written by `gap-relm train` (e.g. runs/gap-relm/final)')
    .option('--input <file>', 'sentences, one per line (text, TSV, SIGHAN or JSONL: the source column)')
    .option('--text <sentence...>', 'sentences given on the command line')
    .option('--output <file>', 'write corrections here instead of stdout')
    .option('--edits <file>', 'also write JSONL {source, corrected, edits:[{position, from, to, kind, confidence}]}')
    .option('--chunk <n>', 'sentences per progress step', parseIntFlag('--chunk', 1), 256)
    .option('--no-progress', 'no progress line on stderr');
  addCorrectorOptions(command, 'tfjs');
  command.action(async (opts: Omit<PredictCommandOptions, 'decode'>, cmd: Command) => {
    await runPredict({ ...opts, decode: await decodeConfigFrom(cmd, opts.thresholds) }, io);
  });
}
