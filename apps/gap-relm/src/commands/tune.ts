import { writeFileAtomic } from '@proj/core';
import { DEFAULT_TUNE_GRID, type GapRelmDecodeConfig, type TuneMetric, tuneThresholds } from '@proj/sampling';
import { Option, type Command } from 'commander';
import { type CliIO, CliError, log, requireDistinctPaths, requireFile, requireModelDir, requireOutputFile } from '../cli-io';
import { decodeConfigFrom } from '../decode-config';
import { numberFlag } from '../flags';
import { type CorrectorOptions, addEngineOptions, loadCorrector } from '../load-corrector';
import { addBackendOption, addDecodeOptions } from '../model-flags';
import { InputReport } from '../input-lines';
import { readPairLines } from '../pairs-file';

/** Where the model runs: `engine` defaults to tfjs here (`demo` tunes on onnx). */
export interface TuneCommandOptions extends Pick<CorrectorOptions, 'engine' | 'providers' | 'threads' | 'int8'> {
  model: string;
  dev: string;
  limit?: number;
  beta: number;
  metric: TuneMetric | 'auto';
  grid?: string;
  output: string;
  backend: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  /** Other decoding settings (see decodeConfigFrom). */
  decode: Partial<GapRelmDecodeConfig>;
}

function parseGrid(value: string): number[] {
  const items = value.split(',').map((v) => v.trim());
  const values = items.map(Number);
  if (items.some((v) => v === '') || values.some((v) => !(v >= 0 && v <= 1))) throw new CliError(`--grid: expected comma-separated numbers in [0, 1], got "${value}"`);
  return values;
}

/** Sweeps the planner's decision thresholds on a dev set and keeps the ones that maximise F-beta. */
export async function runTune(options: TuneCommandOptions, io: CliIO) {
  requireModelDir(options.model, '--model');
  requireFile(options.dev, '--dev');
  requireDistinctPaths({ '--dev': options.dev, '--output': options.output });
  requireOutputFile(options.output, '--output');
  const report = new InputReport();
  const pairs = (await readPairLines(options.dev, report)).flatMap((p) => (p !== null && p.target !== undefined ? [{ source: p.source, target: p.target }] : []));
  report.log(io, 'tune', options.dev);
  if (report.skips.count > 0) log(io, `tune: ${report.skips.summary()}: ${report.skips.examples.join('; ')}`);
  if (pairs.length === 0) throw new CliError(`--dev: ${options.dev} has no source/target pairs`);
  const dev = options.limit === undefined ? pairs : pairs.slice(0, options.limit);
  const grid = options.grid === undefined ? DEFAULT_TUNE_GRID : { deleteThreshold: parseGrid(options.grid), insertThreshold: parseGrid(options.grid), replaceThreshold: parseGrid(options.grid) };

  const model = await loadCorrector({ model: options.model, backend: options.backend, engine: options.engine, providers: options.providers, threads: options.threads, int8: options.int8 }, io);
  const started = performance.now();
  let result: Awaited<ReturnType<typeof tuneThresholds>>;
  try {
    result = await tuneThresholds(dev, {
      planner: model.plannerSource(),
      infiller: model.infillerSource(),
      config: options.decode,
      grid,
      beta: options.beta,
      metric: options.metric,
    });
  } finally {
    await model.release();
  }
  const { best } = result;
  log(io, `tune: ${dev.length} dev pairs, ${result.rows.length} threshold triples, ${result.templatesFilled} templates filled, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  io.stdout.write(
    `best F${options.beta} (${result.metric}) = ${best.score.toFixed(4)} at delete ${best.deleteThreshold}, insert ${best.insertThreshold}, replace ${best.replaceThreshold}\n`,
  );
  await writeFileAtomic(options.output, `${JSON.stringify({ metric: result.metric, beta: result.beta, best, bestConfig: result.bestConfig, rows: result.rows }, null, 2)}\n`);
  log(io, `thresholds written to ${options.output} (use: gap-relm predict --model ${options.model} --thresholds ${options.output} --text ...)`);
  return result;
}

export function registerTune(program: Command, io: CliIO): void {
  const command = program
    .command('tune')
    .description('Sweep the delete / insert / replace thresholds on a dev set and keep the best F-beta (F2 by default)')
    .requiredOption('--model <dir>', 'a model directory written by `gap-relm train`')
    .requiredOption('--dev <file>', 'dev pairs: source<TAB>target, SIGHAN 3-column, or JSONL (e.g. the frozen dev set)')
    .option('--limit <n>', 'use the first n dev pairs', numberFlag('--limit', { integer: true, min: 1 }))
    .option('--beta <b>', 'F-beta to maximise (2: recall-oriented, 0.5: precision-oriented)', numberFlag('--beta', { min: 0, exclusiveMin: true }), 2)
    .addOption(new Option('--metric <m>', 'auto: sentence-level CSC when all pairs keep their length, else char edits').choices(['auto', 'csc-sentence', 'char-edit']).default('auto'))
    .option('--grid <values>', `threshold values tried for each kind (default ${DEFAULT_TUNE_GRID.deleteThreshold.join(',')})`)
    .option('--output <file>', 'where the thresholds and the full table go', 'thresholds.json');
  addEngineOptions(command, 'tfjs');
  addBackendOption(command);
  addDecodeOptions(command);
  command.action(async (opts: Omit<TuneCommandOptions, 'decode'>, cmd: Command) => {
    await runTune({ ...opts, decode: await decodeConfigFrom(cmd) }, io);
  });
}
