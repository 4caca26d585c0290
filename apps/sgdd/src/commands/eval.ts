import type { Command } from 'commander';
import { CliError, type CliIO } from '../cli-io';
import { readPrepareInfo, readSplit } from '../data';
import { ENGINE_CHOICES, openSampler } from '../engine';
import { evaluateSgdd, type EvalSummary } from '../evaluate';
import { numberFlag } from '../flags';
import { loadModel } from '../load-model';
import { addSamplingOptions, type SamplingFlags } from './sample';

export interface EvalCommandOptions extends SamplingFlags {
  model: string;
  data: string;
  split: string;
  lossLimit: number;
  samples: number;
  show: number;
  noiseLevels?: number[];
  progress: boolean;
}

/** Loss, perplexity, exact match and BLEU (against the reference and the source) of a model on a prepared split, with samples. */
export async function runEval(o: EvalCommandOptions, io: CliIO): Promise<EvalSummary & { model: string; data: string; split: string }> {
  const info = await readPrepareInfo(o.data, '--data');
  const split = await readSplit(o.data, o.split, info);
  const m = await loadModel(o.model, '--model', o.engine, o.backend, io);
  try {
    if (m.model.config.semantic_size !== info.vector_size) throw new CliError(`--data: ${o.data} has vectors of ${info.vector_size}, the model expects ${m.model.config.semantic_size}`);
    const sampler = await openSampler(m.model, o.model, o.engine, io, m.backend, { int8: o.int8 });
    try {
      const summary = await evaluateSgdd(m.model, m.tokenizer, split, { phase: info.task, ...o, sampler }, io);
      return { model: o.model, data: o.data, split: o.split, ...summary };
    } finally {
      await sampler.release();
    }
  } finally {
    await m.dispose();
  }
}

export function registerEval(program: Command, io: CliIO, report: (r: unknown) => void): void {
  const command = program
    .command('eval')
    .description('Score a model on a prepared split: loss, perplexity, exact match, BLEU vs the reference and vs the source (sacreBLEU, zh), a few samples')
    .requiredOption('--model <dir>', 'a trained model directory')
    .requiredOption('--data <dir>', 'a `sgdd prepare` output directory')
    .option('--split <name>', 'which split', 'dev')
    .option('--loss-limit <n>', 'examples scored for the loss', numberFlag('--loss-limit', { integer: true, min: 1 }), 500)
    .option('--samples <n>', 'examples decoded for exact match and BLEU (0: none)', numberFlag('--samples', { integer: true, min: 0 }), 200)
    .option('--show <n>', 'samples printed in the summary', numberFlag('--show', { integer: true, min: 0 }), 5)
    .option('--noise-levels <fractions>', 'also score the loss examples at these masked fractions, one level at a time, comma-separated (e.g. 0.05,0.15,0.5,1): loss and argmax accuracy per level (tfjs)', fractionList('--noise-levels'))
    .option('--no-progress', 'no progress lines');
  addSamplingOptions(command, ENGINE_CHOICES).action(async (opts: EvalCommandOptions) => report(await runEval(opts, io)));
}

/** A comma-separated list of masked fractions, each in (0, 1]. */
function fractionList(flag: string): (value: string) => number[] {
  const fraction = numberFlag(flag, { min: 0, exclusiveMin: true, max: 1 });
  return (value) => value.split(',').map((part) => fraction(part.trim()));
}
