import { DEFAULT_MAX_INSERT_K, buildExample, rejectCode } from '@proj/align';
import { AtomicFileWriter, DataError, Progress, parseJsonLine, stringField } from '@proj/core';
import type { Command } from 'commander';
import { type CliIO, log, requireDistinctPaths, requireFile, requireOutputFile } from '../cli-io';
import { numberFlag } from '../flags';
import { InputReport, inputLines } from '../input-lines';

export interface AlignCommandOptions {
  input: string;
  output: string;
  rejects?: string;
  maxInsertK: number;
  groupAsciiAlnum: boolean;
}

/**
 * `{source, target}` JSONL in, precomputed JSONL out: one output line per accepted input line,
 * in order. Rejected lines (bad JSON, missing field, insertion longer than max-insert-k) go to
 * stderr and to the rejects file with their line number.
 */
export async function runAlign(options: AlignCommandOptions, io: CliIO) {
  requireFile(options.input, '--input');
  const rejectsPath = options.rejects ?? options.output.replace(/(\.jsonl)?$/, '.rejects.jsonl');
  requireDistinctPaths({ '--input': options.input, '--output': options.output, '--rejects': rejectsPath });
  requireOutputFile(options.output, '--output');
  requireOutputFile(rejectsPath, '--rejects');
  const output = await AtomicFileWriter.open(options.output);
  const rejects = await AtomicFileWriter.open(rejectsPath);
  const report = new InputReport();
  const skipped = report.skips;
  const progress = new Progress({ label: 'align', unit: 'pairs', stream: io.stderr });
  let read = 0;
  let written = 0;
  try {
    for await (const { line, text, tooLongBytes } of inputLines(options.input, report)) {
      if (tooLongBytes !== undefined) {
        log(io, `reject ${options.input}:${line}: ${tooLongBytes} bytes, over the line limit`);
        await rejects.write(`${JSON.stringify({ file: options.input, line, reason: 'line_too_long' })}\n`);
        read++;
        continue;
      }
      if (text.trim() === '') continue;
      read++;
      progress.tick();
      let reason: string;
      try {
        const record = parseJsonLine(text, options.input, line);
        const source = stringField(record, 'source', options.input, line);
        const target = stringField(record, 'target', options.input, line);
        const result = buildExample(source, target, {
          maxInsertK: options.maxInsertK,
          groupAsciiAlnum: options.groupAsciiAlnum,
        });
        if (result.ok) {
          await output.write(`${JSON.stringify(result.example)}\n`);
          written++;
          continue;
        }
        reason = result.reason;
      } catch (error) {
        if (!(error instanceof DataError)) throw error;
        reason = error.message;
      }
      skipped.add(rejectCode(reason), `${options.input}:${line}: ${reason}`);
      log(io, `reject ${options.input}:${line}: ${reason}`);
      await rejects.write(`${JSON.stringify({ file: options.input, line, reason })}\n`);
    }
    await output.commit();
    await rejects.commit();
  } catch (error) {
    await output.abort();
    await rejects.abort();
    throw error;
  }
  progress.finish();
  report.log(io, 'align', options.input);
  const summary = { input: options.input, output: options.output, rejects: rejectsPath, read, written, rejected: Object.fromEntries(skipped.byReason) };
  log(io, `align: read ${read}, wrote ${written}, ${skipped.summary()}`);
  return summary;
}

export function registerAlign(program: Command, io: CliIO, report: (result: unknown) => void): void {
  program
    .command('align')
    .description('Label {source,target} JSONL pairs: precomputed JSONL out, one line per accepted input line, in order')
    .requiredOption('--input <file>', 'JSONL with "source" and "target" string fields')
    .requiredOption('--output <file>', 'precomputed JSONL to write')
    .option('--rejects <file>', 'where rejected lines go (default: <output>.rejects.jsonl)')
    .option('--max-insert-k <n>', 'most [MASK] slots inserted after one token', numberFlag('--max-insert-k', { integer: true, min: 0 }), DEFAULT_MAX_INSERT_K)
    .option('--group-ascii-alnum', 'one token per run of ASCII letters/digits (BERT-style)', false)
    .action(async (opts: AlignCommandOptions) => report(await runAlign(opts, io)));
}
