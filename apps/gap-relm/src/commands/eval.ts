import { writeFileAtomic } from '@proj/core';
import { cscMetrics, type CscMetrics } from '@proj/metrics';
import type { Command } from 'commander';
import { type CliIO, CliError, log, requireDistinctPaths, requireFile, requireOutputFile } from '../cli-io';
import { InputReport, inputLines } from '../input-lines';
import { readPairLines } from '../pairs-file';

export interface EvalCommandOptions {
  gold: string;
  pred: string;
  json?: string;
}

/** Gold pairs; a line without a target is malformed here and becomes `null`, keeping lines in step. */
async function readGoldPairs(file: string, report: InputReport) {
  return (await readPairLines(file, report)).map((pair) => {
    if (pair === null || pair.target !== undefined) return pair;
    report.skips.add('bad_gold_line', `${file}:${pair.line}: expected source<TAB>target, got one column`);
    return null;
  });
}

async function readPredictions(file: string, report: InputReport): Promise<string[]> {
  const preds: string[] = [];
  for await (const { text } of inputLines(file, report)) preds.push(text);
  // A trailing empty line is a file ending, not a prediction.
  while (preds.length > 0 && preds[preds.length - 1] === '') preds.pop();
  return preds;
}

export function formatCscTable(m: CscMetrics): string {
  const pct = (x: number) => (100 * x).toFixed(2).padStart(7);
  const rows = [`${'level'.padEnd(10)}${'task'.padEnd(12)}${'P'.padStart(7)}${'R'.padStart(7)}${'F1'.padStart(7)}${'F0.5'.padStart(7)}${'F2'.padStart(7)}`];
  for (const level of ['sentence', 'char'] as const) {
    for (const task of ['detection', 'correction'] as const) {
      const s = m[level][task];
      rows.push(`${level.padEnd(10)}${task.padEnd(12)}${pct(s.precision)}${pct(s.recall)}${pct(s.f1)}${pct(s.f05)}${pct(s.f2)}`);
    }
  }
  // Gold pairs that change length cannot be scored character by character: say how many were left out.
  const skipped = m.gold_length_mismatch > 0 ? ` of ${m.sentences + m.gold_length_mismatch} (${m.gold_length_mismatch} gold pairs that change length skipped)` : '';
  rows.push(`FPR ${pct(m.fpr).trim()}%  sentences ${m.sentences}${skipped}  length_mismatch ${m.length_mismatch}`);
  return `${rows.join('\n')}\n`;
}

export async function runEval(options: EvalCommandOptions, io: CliIO): Promise<CscMetrics> {
  requireFile(options.gold, '--gold');
  requireFile(options.pred, '--pred');
  requireDistinctPaths({ '--gold': options.gold, '--pred': options.pred, '--json': options.json });
  requireOutputFile(options.json, '--json');
  const goldReport = new InputReport();
  const predReport = new InputReport();
  const gold = await readGoldPairs(options.gold, goldReport);
  const preds = await readPredictions(options.pred, predReport);
  goldReport.log(io, 'eval', options.gold);
  predReport.log(io, 'eval', options.pred);
  const skips = goldReport.skips;
  for (const example of predReport.skips.examples) log(io, `eval: --pred line skipped: ${example}`);
  if (preds.length !== gold.length) {
    throw new CliError(`--pred has ${preds.length} lines but --gold has ${gold.length} pairs: they must align line by line`);
  }
  const keep = gold.flatMap((pair, i) => (pair === null ? [] : [{ source: pair.source, target: pair.target as string, pred: preds[i] }]));
  const metrics = cscMetrics(
    keep.map((k) => k.source),
    keep.map((k) => k.target),
    keep.map((k) => k.pred),
  );
  for (const example of skips.examples) log(io, `skipped ${example}`);
  if (skips.count > 0) log(io, `eval: ${skips.summary()}`);
  if (keep.length === 0) throw new CliError(`--gold: ${options.gold} has no source<TAB>target pair to score`);
  io.stdout.write(formatCscTable(metrics));
  if (options.json !== undefined) await writeFileAtomic(options.json, `${JSON.stringify(metrics, null, 2)}\n`);
  return metrics;
}

export function registerEval(program: Command, io: CliIO): void {
  program
    .command('eval')
    .description('Score corrections with SIGHAN-style CSC metrics (sentence and char level, detection and correction)')
    .requiredOption('--gold <file>', 'source<TAB>target per line (also n_errors<TAB>source<TAB>target, or JSONL with source/target)')
    .requiredOption('--pred <file>', 'one corrected sentence per line, in the order of --gold')
    .option('--json <file>', 'also write the metrics as JSON')
    .action(async (opts: EvalCommandOptions) => {
      await runEval(opts, io);
    });
}
