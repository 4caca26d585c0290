import { readFile } from 'node:fs/promises';
import { readLines } from '@proj/core';
import { join } from 'node:path';
import { PlannerOp, type PrecomputedExample } from '@proj/align';
import { defaultSynthConfig } from '@proj/data-synth';
import type { Command } from 'commander';
import { bundled } from '../bundled-data';
import type { CliIO } from '../cli-io';
import { parseIntFlag } from '../flags';
import { defaultSynthFlags } from '../synth-flags';
import { runCompile } from './compile';
import { runFrozenDev } from './frozen-dev';
import { runSynth } from './synth';

export interface DemoCommandOptions {
  outputDir: string;
  threads?: number;
  devSamples: number;
  progress: boolean;
}

/** One labelled example, drawn for a reader: source → target, the template and its fills. */
function describeExample(example: PrecomputedExample): string {
  return [
    `  source   ${example.source}`,
    `  target   ${example.target}`,
    `  template ${example.template_tokens.join('')}`,
    `  fills    ${example.gold_tokens.join(' ') || '(none)'}   ops ${example.op_labels.join('')}   inserts ${example.insert_labels.join('')}`,
  ].join('\n');
}

/** How errors look in a precomputed JSONL file: what share of records and edits of each kind. */
export interface LabelStats {
  records: number;
  withErrors: number;
  replace: number;
  delete: number;
  insert: number;
  meanEditsPerErrorRecord: number;
}

export async function labelStats(file: string): Promise<LabelStats> {
  const stats = { records: 0, withErrors: 0, replace: 0, delete: 0, insert: 0, meanEditsPerErrorRecord: 0 };
  for await (const { text } of readLines(file)) {
    if (text === '') continue;
    const example = JSON.parse(text) as PrecomputedExample;
    stats.records++;
    let edits = 0;
    for (const op of example.op_labels) {
      if (op === PlannerOp.REPLACE) stats.replace++;
      if (op === PlannerOp.DELETE) stats.delete++;
      if (op !== PlannerOp.KEEP) edits++;
    }
    for (const k of example.insert_labels) {
      stats.insert += k;
      edits += k;
    }
    if (edits > 0) stats.withErrors++;
  }
  const totalEdits = stats.replace + stats.delete + stats.insert;
  stats.meanEditsPerErrorRecord = stats.withErrors === 0 ? 0 : totalEdits / stats.withErrors;
  return stats;
}

function formatStatsTable(rows: Record<string, LabelStats>): string {
  const header = `  ${'file'.padEnd(15)}${'records'.padStart(9)}${'w/ errors'.padStart(11)}${'edits/err'.padStart(11)}${'replace'.padStart(9)}${'delete'.padStart(8)}${'insert'.padStart(8)}`;
  const body = Object.entries(rows).map(([name, s]) => {
    const total = s.replace + s.delete + s.insert || 1;
    const share = (n: number) => `${((100 * n) / total).toFixed(0)}%`;
    return `  ${name.padEnd(15)}${String(s.records).padStart(9)}${`${((100 * s.withErrors) / (s.records || 1)).toFixed(1)}%`.padStart(11)}${s.meanEditsPerErrorRecord.toFixed(2).padStart(11)}${share(s.replace).padStart(9)}${share(s.delete).padStart(8)}${share(s.insert).padStart(8)}`;
  });
  return [header, ...body].join('\n');
}

/**
 * The main job on bundled data: synthesize training data from the bundled corpus, freeze a dev
 * set, compile the SIGHAN-15 test set, and compare their label statistics.
 */
export async function runDemo(options: DemoCommandOptions, io: CliIO) {
  const started = performance.now();
  const common = {
    cleanFile: bundled.corpus,
    cleanFileFormat: 'txt' as const,
    cleanTextField: 'text',
    confusionFile: [...bundled.confusionFiles],
    outputDir: options.outputDir,
    threads: options.threads,
    progress: options.progress,
    ...defaultSynthFlags(),
  };
  const train = await runSynth({ ...common, mode: 'static', epoch: 0 }, io);
  const dev = await runFrozenDev({ ...common, numSamples: options.devSamples }, io);
  const testPath = join(options.outputDir, 'sighan15-test.jsonl');
  const test = await runCompile(
    {
      input: bundled.sighan15Test,
      output: testPath,
      format: 'sighan-tsv',
      multiTarget: 'all',
      maxInsertK: defaultSynthConfig.max_insert_k,
      groupAsciiAlnum: false,
      threads: options.threads,
      progress: options.progress,
    },
    io,
  );
  const trainStats = await labelStats(train.output);
  const testStats = await labelStats(test.output);
  const devStats = await labelStats(dev.output);

  const firstNegative = (await readFile(train.output, 'utf8')).split('\n', 64).map((l) => (l ? (JSON.parse(l) as PrecomputedExample) : null)).find((e) => e && e.source !== e.target);
  const seconds = (performance.now() - started) / 1000;
  const lines = [
    `gap-relm demo: done in ${seconds.toFixed(1)} s`,
    `  train  ${train.output}: ${train.examples} examples (${train.negatives} with errors, ${train.positives} clean) from ${train.sentences} sentences; edits ${JSON.stringify(train.editsByType)}`,
    `  dev    ${dev.output}: ${dev.examples} examples (${dev.negatives} with errors), frozen by seed ${defaultSynthConfig.seed}`,
    `  test   ${test.output}: ${test.written} SIGHAN-15 records, ${Object.values(test.rejected).reduce((a, b) => a + b, 0)} rejected, ${test.skipped.count} skipped`,
  ];
  if (firstNegative) lines.push('  example training record:', describeExample(firstNegative));
  lines.push('', 'label statistics (synthetic vs real errors):', formatStatsTable({ train: trainStats, dev: devStats, 'sighan15-test': testStats }));
  io.stdout.write(`${lines.join('\n')}\n`);
  return { seconds, train, dev, test, stats: { train: trainStats, dev: devStats, test: testStats } };
}

export function registerDemo(program: Command, io: CliIO): void {
  program
    .command('demo')
    .description('Run the main job on bundled data: synthesize training data, freeze a dev set, compile SIGHAN-15, print a summary')
    .option('--output-dir <dir>', 'where outputs go', 'runs/demo')
    .option('--dev-samples <n>', 'sentences in the frozen dev set', parseIntFlag('--dev-samples', 1), 1000)
    .option('--threads <n>', 'worker threads (default: all cores)', parseIntFlag('--threads', 1))
    .option('--no-progress', 'no progress line on stderr')
    .action(async (opts: DemoCommandOptions) => {
      await runDemo(opts, io);
    });
}
