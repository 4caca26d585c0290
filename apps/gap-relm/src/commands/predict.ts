import { AtomicFileWriter, Progress } from '@proj/core';
import { type GapRelmDecodeConfig, resolveGapRelmDecodeConfig } from '@proj/sampling';
import type { Command } from 'commander';
import { type CliIO, CliError, log, requireDistinctPaths, requireFile, requireModelDir, requireOutputFile } from '../cli-io';
import { decodeConfigFrom, thresholdsFor } from '../decode-config';
import { numberFlag } from '../flags';
import { type CorrectorOptions, addCorrectorOptions, loadCorrector } from '../load-corrector';
import { InputReport, inputLines } from '../input-lines';
import { badPairLine, parsePairLine } from '../pairs-file';

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

/** One input line on its way out: corrected, or written back as it came (blank, or fitting no form). */
type PendingLine = { source: string } | { asIs: string };

/**
 * Corrects sentences (--text, or one per line of --input: text, TSV, SIGHAN or JSONL, the source
 * column is read) and writes one line per input line, in input order: a blank line stays blank, a
 * line that fits no form is written back unchanged (counted, with file:line). The input is read
 * and corrected in chunks of --chunk lines, so memory does not grow with the file.
 */
export async function runPredict(options: PredictCommandOptions, io: CliIO) {
  requireModelDir(options.model, '--model');
  requireDistinctPaths({ '--input': options.input, '--output': options.output, '--edits': options.edits });
  requireOutputFile(options.output, '--output');
  requireOutputFile(options.edits, '--edits');
  const report = new InputReport();
  const skips = report.skips;
  let lines: AsyncIterable<PendingLine> | Iterable<PendingLine>;
  let inputFile: string | undefined;
  if (options.text !== undefined && options.text.length > 0) lines = options.text.map((source) => ({ source }));
  else if (options.input !== undefined) lines = predictLines((inputFile = requireFile(options.input, '--input')), report);
  else throw new CliError('give --input <file> or --text <sentence...>');

  const model = await loadCorrector(options, io);
  const applied = resolveGapRelmDecodeConfig(options.decode, 'predict');
  const from = options.thresholds === undefined ? '' : ` (${options.thresholds}, then the flags given)`;
  log(io, `predict: thresholds delete ${applied.deleteThreshold}, insert ${applied.insertThreshold}, replace ${applied.replaceThreshold}${from}`);

  const out = options.output === undefined ? null : await AtomicFileWriter.open(options.output);
  const edits = options.edits === undefined ? null : await AtomicFileWriter.open(options.edits);
  const progress = new Progress({ label: 'predict', unit: 'line', stream: io.stderr, enabled: options.progress });
  const counts = { lines: 0, corrected: 0, changed: 0, asIs: 0 };
  const flush = async (chunk: PendingLine[]) => {
    const sources = chunk.flatMap((l) => ('source' in l ? [l.source] : []));
    const corrections = sources.length > 0 ? await model.correct(sources, options.decode) : [];
    let next = 0;
    for (const l of chunk) {
      const c = 'source' in l ? corrections[next++] : { source: l.asIs, corrected: l.asIs, edits: [] };
      if (c.corrected !== c.source) counts.changed++;
      if (out) await out.write(`${c.corrected}\n`);
      else io.stdout.write(`${c.corrected}\n`);
      if (edits) await edits.write(`${JSON.stringify(c)}\n`);
    }
    counts.lines += chunk.length;
    counts.corrected += sources.length;
    counts.asIs += chunk.length - sources.length;
    progress.tick(chunk.length);
  };
  try {
    let chunk: PendingLine[] = [];
    for await (const line of lines) {
      chunk.push(line);
      if (chunk.length >= options.chunk) {
        await flush(chunk);
        chunk = [];
      }
    }
    await flush(chunk);
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
  if (inputFile !== undefined) report.log(io, 'predict', inputFile);
  for (const example of skips.examples) log(io, `predict: written unchanged: ${example}`);
  log(io, `predict: ${plural(counts.lines, 'line')} in and out: ${counts.corrected} corrected (${counts.changed} changed), ${counts.asIs - skips.count} blank, ${skips.count} unreadable written unchanged`);
  return { sentences: counts.corrected, changed: counts.changed, lines: counts.lines, blank: counts.asIs - skips.count, unreadable: skips.count };
}

/**
 * --input lines: blank ones and ones fitting no form come back as they are (the latter counted);
 * a line over the line limit (counted) comes back blank.
 */
async function* predictLines(file: string, report: InputReport): AsyncGenerator<PendingLine> {
  for await (const { line, text } of inputLines(file, report)) {
    if (text.trim() === '') {
      yield { asIs: text };
      continue;
    }
    const pair = parsePairLine(text);
    if (pair === null) {
      report.skips.add('bad_line', badPairLine(file, line, text));
      yield { asIs: text };
    } else yield { source: pair.source };
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function registerPredict(program: Command, io: CliIO): void {
  const command = program
    .command('predict')
    .description('Correct sentences with a trained Gap-ReLM model: one corrected sentence per line, in order')
    .requiredOption('--model <dir>', 'a model directory written by `gap-relm train` (e.g. runs/gap-relm/final)')
    .option('--input <file>', 'sentences, one per line (text, TSV, SIGHAN or JSONL: the source column)')
    .option('--text <sentence...>', 'sentences given on the command line')
    .option('--output <file>', 'write corrections here instead of stdout')
    .option('--edits <file>', 'also write JSONL {source, corrected, edits:[{position, from, to, kind, confidence}]}')
    .option('--chunk <n>', 'input lines read and corrected at a time (memory is bounded by it)', numberFlag('--chunk', { integer: true, min: 1 }), 256)
    .option('--no-progress', 'no progress line on stderr');
  addCorrectorOptions(command, 'tfjs');
  command.action(async (opts: Omit<PredictCommandOptions, 'decode'>, cmd: Command) => {
    const thresholds = thresholdsFor(opts.model, opts.thresholds);
    await runPredict({ ...opts, thresholds, decode: await decodeConfigFrom(cmd, thresholds) }, io);
  });
}
