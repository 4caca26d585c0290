import { existsSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '@proj/core';
import type { BackendChoice } from '@proj/models';
import type { Command } from 'commander';
import { Option } from 'commander';
import { stringify } from 'yaml';
import { bundled } from '../bundled-data';
import { CliError, log, type CliIO } from '../cli-io';
import type { Engine } from '../engine';
import { numberFlag } from '../flags';
import { runPrepare } from './prepare';
import { runTrain, type TrainSummary } from './train';

export interface DemoOptions {
  outputDir: string;
  fresh: boolean;
  encoder: string;
  from?: string;
  corpus: string;
  pairs: string;
  trainSentences: number;
  devSentences: number;
  phase1Steps: number;
  phase2Steps: number;
  batchSize: number;
  hiddenSize: number;
  layers: number;
  samples: number;
  seed: number;
  backend: BackendChoice;
  engine: 'auto' | 'onnx' | 'tfjs';
  evalEngine: Engine;
  progress: boolean;
}

const scores = (t: TrainSummary) => ({
  steps: t.global_step,
  seconds: t.seconds,
  best_dev_loss: t.best_dev_loss,
  ...(t.eval && { perplexity: t.eval.perplexity, exact_match: t.eval.exact_match, bleu_reference: t.eval.bleu_reference, bleu_source: t.eval.bleu_source, bleu_copy_source_vs_reference: t.eval.bleu_copy_source_vs_reference, samples: t.eval.samples.slice(0, 3) }),
  model: t.model_dir,
});

/**
 * Phase 1 (reconstruction) on the bundled Wikipedia sentences, then phase 2 (paraphrase) on the
 * bundled PAWS-X pairs initialised from phase 1; prints each phase's scores. The phase configs it
 * writes (phase1.yaml, phase2.yaml) rerun each phase with `sgdd train --config`.
 */
export async function runDemo(o: DemoOptions, io: CliIO) {
  for (const [flag, file] of [['--corpus', o.corpus], ['--pairs', o.pairs]] as const) {
    if (!existsSync(file)) throw new CliError(`${flag}: file not found: ${file}${flag === '--corpus' ? " (an installed sgdd has no copy of gap-relm's bundled Wikipedia sentences; give one sentence per line)" : ''}`);
  }
  const out = resolve(o.outputDir);
  if (existsSync(out)) {
    if (!statSync(out).isDirectory()) throw new CliError(`--output-dir: ${out} is a file, expected a directory`);
    if (existsSync(join(out, 'phase1')) && !o.fresh) throw new CliError(`--output-dir: ${out} holds an earlier demo run; pass --fresh to replace it`);
    if (o.fresh) await rm(out, { recursive: true, force: true });
  }
  await mkdir(out, { recursive: true });
  const common = { encoder: o.encoder, from: o.from, maxLength: 64, refuseLong: false, seed: o.seed, batchSize: 32, progress: o.progress };
  log(io, `demo: 1/4 prepare ${o.trainSentences} + ${o.devSentences} sentences of ${o.corpus}`);
  await runPrepare({ ...common, input: o.corpus, format: 'lines', outputDir: join(out, 'wiki'), devSize: o.devSentences, limit: o.trainSentences }, io);
  log(io, `demo: 2/4 prepare the paraphrase pairs of ${o.pairs}`);
  await runPrepare({ ...common, input: o.pairs, format: 'paws', outputDir: join(out, 'paws'), devSize: o.devSentences, limit: 0 }, io);

  const model = { hidden_size: o.hiddenSize, num_hidden_layers: o.layers, num_attention_heads: 4, intermediate_size: 4 * o.hiddenSize, dropout: 0 };
  const trainCfg = (steps: number, dir: string, lr: number) => ({ epochs: 1000, max_steps: steps, batch_size: o.batchSize, lr, min_lr: lr / 10, warmup_steps: Math.max(1, Math.round(steps / 12)), eval_every_steps: Math.max(1, Math.round(steps / 2)), log_every_steps: Math.max(1, Math.round(steps / 10)), seed: o.seed, output_dir: dir });
  const evalCfg = { samples: o.samples, steps: 16, guidance: 2 };
  const phase1 = { phase: 'reconstruction', data: 'wiki', model, train: trainCfg(o.phase1Steps, 'phase1', 2e-3), dev_limit: o.devSentences, eval: evalCfg };
  const phase2 = { phase: 'paraphrase', data: 'paws', init_from: 'phase1/best', train: trainCfg(o.phase2Steps, 'phase2', 5e-4), dev_limit: o.devSentences, eval: evalCfg };
  await writeFileAtomic(join(out, 'phase1.yaml'), stringify(phase1));
  await writeFileAtomic(join(out, 'phase2.yaml'), stringify(phase2));
  const trainOpts = { backend: o.backend, engine: o.engine, evalEngine: o.evalEngine, progress: o.progress };
  log(io, `demo: 3/4 phase 1, reconstruction (${join(out, 'phase1.yaml')})`);
  const p1 = await runTrain({ config: join(out, 'phase1.yaml'), ...trainOpts }, io);
  if (!existsSync(join(out, 'phase1', 'best'))) phase2.init_from = 'phase1/final';
  await writeFileAtomic(join(out, 'phase2.yaml'), stringify(phase2));
  log(io, `demo: 4/4 phase 2, paraphrase from phase 1 (${join(out, 'phase2.yaml')})`);
  const p2 = await runTrain({ config: join(out, 'phase2.yaml'), ...trainOpts }, io);
  const summary = { backend: p1.backend, engine: p1.engine, parameters: p1.parameters, reconstruction: scores(p1), paraphrase: scores(p2) };
  log(io, `demo: reconstruction exact match ${p1.eval?.exact_match ?? '-'}, dev loss ${p1.best_dev_loss}; paraphrase BLEU ${p2.eval?.bleu_reference?.toFixed(1) ?? '-'} vs the reference, ${p2.eval?.bleu_source?.toFixed(1) ?? '-'} vs the source (copying the source scores ${p2.eval?.bleu_copy_source_vs_reference?.toFixed(1) ?? '-'})`);
  return summary;
}

export function registerDemo(program: Command, io: CliIO, report: (r: unknown) => void): void {
  program
    .command('demo')
    .description('Phase 1 (reconstruction) on bundled Wikipedia sentences, then phase 2 (paraphrase) on bundled PAWS-X pairs; prints the scores')
    .option('--output-dir <dir>', 'run dir', 'runs/sgdd-demo')
    .option('--fresh', 'replace an earlier demo run in --output-dir', false)
    .option('--encoder <spec>', 'frozen encoder: a pretrained name, a Hugging Face BERT directory or an ONNX export', 'bge-small-zh')
    .option('--from <path>', 'local files for a pretrained name')
    .option('--corpus <file>', 'phase-1 sentences, one per line', bundled.wiki)
    .option('--pairs <file>', 'phase-2 PAWS-X TSV', bundled.paws)
    .option('--train-sentences <n>', 'phase-1 training sentences', numberFlag('--train-sentences', { integer: true, min: 1 }), 4000)
    .option('--dev-sentences <n>', 'held-out sentences / pairs per phase', numberFlag('--dev-sentences', { integer: true, min: 1 }), 200)
    .option('--phase1-steps <n>', 'phase-1 optimizer steps', numberFlag('--phase1-steps', { integer: true, min: 1 }), 400)
    .option('--phase2-steps <n>', 'phase-2 optimizer steps', numberFlag('--phase2-steps', { integer: true, min: 1 }), 150)
    .option('--batch-size <n>', 'examples per step', numberFlag('--batch-size', { integer: true, min: 1 }), 32)
    .option('--hidden-size <n>', 'decoder width', numberFlag('--hidden-size', { integer: true, min: 8 }), 128)
    .option('--layers <n>', 'decoder layers', numberFlag('--layers', { integer: true, min: 1 }), 2)
    .option('--samples <n>', 'dev examples decoded per phase', numberFlag('--samples', { integer: true, min: 0 }), 100)
    .option('--seed <n>', 'everything', numberFlag('--seed', { integer: true }), 42)
    .addOption(new Option('--backend <name>', 'tfjs backend for training').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .addOption(new Option('--engine <name>', 'where training steps run: onnx (onnxruntime-node), tfjs (--backend); auto = onnx').choices(['auto', 'onnx', 'tfjs']).default('auto'))
    .addOption(new Option('--eval-engine <name>', 'decoder engine of the evaluations').choices(['onnx', 'tfjs']).default('onnx'))
    .option('--no-progress', 'no progress lines')
    .action(async (opts: DemoOptions) => report(await runDemo(opts, io)));
}
