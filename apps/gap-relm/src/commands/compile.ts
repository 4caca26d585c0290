import { COMPILE_FORMATS, type CompileFormat, DEFAULT_MAX_INSERT_K, type MultiTargetPolicy, compile, defaultTruthPath, explainFormat } from '@proj/align';
import { Option, type Command } from 'commander';
import { type CliIO, CliError, log, requireDistinctPaths, requireFile, requireOutputFile } from '../cli-io';
import { numberFlag } from '../flags';

export interface CompileCommandOptions {
  input: string;
  output: string;
  format: CompileFormat | 'auto';
  truth?: string;
  multiTarget: MultiTargetPolicy;
  maxInsertK: number;
  groupAsciiAlnum: boolean;
  threads?: number;
  progress: boolean;
}

export async function runCompile(options: CompileCommandOptions, io: CliIO) {
  requireFile(options.input, '--input');
  if (options.truth !== undefined) requireFile(options.truth, '--truth');
  requireDistinctPaths({ '--input': options.input, '--truth': options.truth, '--output': options.output, 'the rejects file': `${options.output}.rejects.jsonl` });
  requireOutputFile(options.output, '--output');
  let format = options.format;
  if (format === 'auto') {
    // Said before compiling: a wrong guess shows up as rejects, so the user must see what was chosen and why.
    const detected = await explainFormat(options.input).catch((error: Error) => {
      throw new CliError(`--format auto: ${error.message.replace(/^detectFormat: /, '')}`);
    });
    format = detected.format;
    log(io, `compile: --format auto chose ${format}: ${detected.reason}`);
  }
  let truth = options.truth;
  if (format === 'sighan-official' && truth === undefined) {
    try {
      truth = defaultTruthPath(options.input);
    } catch (error) {
      throw new CliError(`--truth: ${(error as Error).message.replace(/^sighan-official: /, '')}`);
    }
  }
  requireDistinctPaths({ '--input': options.input, '--truth': truth, '--output': options.output, 'the rejects file': `${options.output}.rejects.jsonl` });
  const summary = await compile({
    input: options.input,
    output: options.output,
    format,
    truth,
    multiTarget: options.multiTarget,
    maxInsertK: options.maxInsertK,
    groupAsciiAlnum: options.groupAsciiAlnum,
    threads: options.threads,
    progress: options.progress,
  });
  const rejected = Object.values(summary.rejected).reduce((a, b) => a + b, 0);
  log(io, `compile ${summary.format}: read ${summary.read}, wrote ${summary.written}, rejected ${rejected}, skipped ${summary.skipped.count}`);
  for (const example of summary.skipped.examples) log(io, `  skipped ${example}`);
  return summary;
}

export function registerCompile(program: Command, io: CliIO, report: (result: unknown) => void): void {
  program
    .command('compile')
    .description('Compile a labelled dataset (SIGHAN, MuCGEC, TSV) to precomputed JSONL, in worker threads')
    .requiredOption('--input <file>', 'dataset file (sighan-official: the TestInput file)')
    .requiredOption('--output <file>', 'precomputed JSONL to write; rejects go to <output>.rejects.jsonl')
    .addOption(new Option('--format <format>', 'input format').choices(['auto', ...COMPILE_FORMATS]).default('auto'))
    .option('--truth <file>', 'sighan-official truth file (default: the input name with Input → Truth)')
    .addOption(
      new Option('--multi-target <policy>', 'several references (MuCGEC): one record each, or the closest one')
        .choices(['all', 'closest'])
        .default('all'),
    )
    .option('--max-insert-k <n>', 'most [MASK] slots inserted after one token', numberFlag('--max-insert-k', { integer: true, min: 0 }), DEFAULT_MAX_INSERT_K)
    .option('--group-ascii-alnum', 'one token per run of ASCII letters/digits (BERT-style)', false)
    .option('--threads <n>', 'worker threads (default: all cores)', numberFlag('--threads', { integer: true, min: 1 }))
    .option('--no-progress', 'no progress line on stderr')
    .action(async (opts: CompileCommandOptions) => report(await runCompile(opts, io)));
}
