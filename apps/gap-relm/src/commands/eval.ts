import { readLines, SkipCounter, writeFileAtomic } from '@proj/core';
import { cscMetrics, type CscMetrics } from '@proj/metrics';
import type { Command } from 'commander';
import { type CliIO, CliError, log, requireFile } from '../cli-io';

export interface EvalCommandOptions {
  gold: string;
  pred: string;
  json?: string;
}

/**
 * Gold lines are `source<TAB>target`; the SIGHAN/ECSpell form `n_errors<TAB>source<TAB>target`
 * is accepted too. A malformed line gives `null`, so gold and prediction lines stay in step.
 */
async function readGold(file: string, skips: SkipCounter) {
  const lines: ({ source: string; target: string } | null)[] = [];
  for await (const { line, text } of readLines(file)) {
    if (text === '') continue;
    const cols = text.split('\t');
    if (cols.length === 3 && /^\d+$/.test(cols[0])) cols.shift();
    if (cols.length !== 2) {
      skips.add('bad_gold_line', `${file}:${line}: expected source<TAB>target, got ${cols.length} columns`);
      lines.push(null);
      continue;
    }
    lines.push({ source: cols[0], target: cols[1] });
  }
  return lines;
}

async function readPredictions(file: string): Promise<string[]> {
  const preds: string[] = [];
  for await (const { text } of readLines(file)) preds.push(text);
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
  rows.push(`FPR ${pct(m.fpr).trim()}%  sentences ${m.sentences}  length_mismatch ${m.length_mismatch}`);
  return `${rows.join('\n')}\n`;
}

export async function runEval(options: EvalCommandOptions, io: CliIO): Promise<CscMetrics> {
  requireFile(options.gold, '--gold');
  requireFile(options.pred, '--pred');
  const skips = new SkipCounter();
  const gold = await readGold(options.gold, skips);
  const preds = await readPredictions(options.pred);
  if (preds.length !== gold.length) {
    throw new CliError(`--pred has ${preds.length} lines but --gold has ${gold.length} pairs: they must align line by line`);
  }
  const keep = gold.flatMap((pair, i) => (pair === null ? [] : [{ ...pair, pred: preds[i] }]));
  const metrics = cscMetrics(
    keep.map((k) => k.source),
    keep.map((k) => k.target),
    keep.map((k) => k.pred),
  );
  for (const example of skips.examples) log(io, `skipped ${example}`);
  if (skips.count > 0) log(io, `eval: ${skips.summary()}`);
  io.stdout.write(formatCscTable(metrics));
  if (options.json !== undefined) await writeFileAtomic(options.json, `${JSON.stringify(metrics, null, 2)}\n`);
  return metrics;
}

export function registerEval(program: Command, io: CliIO): void {
  program
    .command('eval')
    .description('Score corrections with SIGHAN-style CSC metrics (sentence and char level, detection and correction)')
    .requiredOption('--gold <file>', 'source<TAB>target per line (n_errors<TAB>source<TAB>target also accepted)')
    .requiredOption('--pred <file>', 'one corrected sentence per line, in the order of --gold')
    .option('--json <file>', 'also write the metrics as JSON')
    .action(async (opts: EvalCommandOptions) => {
      await runEval(opts, io);
    });
}
