import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@proj/core';
import {
  BpeTokenizer,
  CAUSAL_LM_PRESETS,
  CausalLm,
  PACKED_FILES,
  PackedTokens,
  createCausalLmOpsTask,
  createOnnxEngine,
  initBackend,
  parseCausalLmConfig,
  saveCausalLm,
  type BackendChoice,
  type CausalLmPreset,
  type PreparedStats,
} from '@proj/models';
import { train, type PeriodicHook, type TrainResult } from '@proj/trainer';
import { Option, type Command } from 'commander';
import { bundled } from '../bundled-data';
import { type CliIO, CliError, log } from '../cli-io';
import { DEMO_PROMPTS } from '../demo-prompts';
import { numberFlag } from '../flags';
import { readPrompts } from './generate';
import { createSampleHook, SAMPLES_FILE } from './pretrain-samples';

export interface PretrainCommandOptions {
  data: string;
  devData?: string;
  outputDir: string;
  preset: CausalLmPreset;
  seqLen: number;
  epochs: number;
  maxSteps: number;
  batchSize: number;
  gradAccumSteps: number;
  optimizer: 'adamw' | 'adam';
  lr: number;
  minLrRatio: number;
  warmupSteps: number;
  schedule: 'cosine' | 'linear' | 'polynomial' | 'constant';
  maxGradNorm: number;
  emaDecay: number;
  evalEverySteps: number;
  saveEverySteps: number;
  patience: number;
  logEverySteps: number;
  /** --engine onnx: optimizer steps per onnxruntime run (weights and AdamW moments cross once per run). */
  stepsPerRun: number;
  devWindows: number;
  seed: number;
  backend: BackendChoice;
  /** Where training steps run: tfjs (--backend) or onnxruntime-node (evaluation stays on tfjs). */
  engine: 'tfjs' | 'onnx';
  resumeFrom?: string;
  /** Continue fixed prompts every N steps (0: off; default --eval-every-steps). */
  sampleEverySteps?: number;
  samplePromptsFile?: string;
  sampleMaxNewTokens: number;
  /** The tokenizer that prepared --data (samples are encoded and decoded with it). */
  tokenizer: string;
}

async function openPacked(dir: string, flag: string): Promise<PackedTokens> {
  if (!existsSync(join(dir, PACKED_FILES.stats))) throw new CliError(`${flag}: no ${PACKED_FILES.stats} in ${dir} (run \`mateconv prepare\` first)`);
  return PackedTokens.open(dir);
}

export interface PretrainSummary extends Pick<TrainResult, 'stopped' | 'global_step' | 'total_steps' | 'best_metric' | 'best_step' | 'run_dir' | 'last_checkpoint'> {
  final: string;
  /** The last train and dev records (loss, lr, tokens/s; dev loss and perplexity). */
  last_train: Record<string, unknown> | null;
  last_dev: Record<string, unknown> | null;
}

export async function runPretrain(options: PretrainCommandOptions, io: CliIO): Promise<PretrainSummary> {
  if (options.resumeFrom !== undefined && !existsSync(options.resumeFrom)) throw new CliError(`--resume-from: not found: ${options.resumeFrom}`);
  const data = await openPacked(options.data, '--data');
  const dev = options.devData === undefined ? undefined : await openPacked(options.devData, '--dev-data');
  try {
    const backend = await initBackend({ backend: options.backend });
    log(io, `backend: ${backend.name} (${backend.detail})`);
    log(io, `engine: ${options.engine === 'onnx' ? 'onnx (training steps on onnxruntime-node; evaluation on tfjs)' : `tfjs (${backend.name})`}`);
    const config = parseCausalLmConfig({ ...CAUSAL_LM_PRESETS[options.preset], vocab_size: data.stats.vocab_size }, '--preset');
    const model = CausalLm.random(config, new Rng(options.seed));
    try {
      const samples = await sampleHook(options, data, model, io);
      // The Ops-level task: its loss runs on TfOps under the tfjs engine and is recorded once for onnxruntime.
      const task = createCausalLmOpsTask(model, { train: data, seqLen: options.seqLen, dev, devWindows: options.devWindows });
      const result = await train(
        {
          epochs: options.epochs,
          max_steps: options.maxSteps,
          batch_size: options.batchSize,
          grad_accum_steps: options.gradAccumSteps,
          optimizer: options.optimizer,
          lr: options.lr,
          min_lr: options.lr * options.minLrRatio,
          warmup_steps: options.warmupSteps,
          schedule: options.schedule,
          max_grad_norm: options.maxGradNorm,
          ema_decay: options.emaDecay,
          eval_every_steps: options.evalEverySteps,
          save_every_steps: options.saveEverySteps,
          early_stopping: { metric: 'loss', mode: 'min', patience: options.patience },
          seed: options.seed,
          output_dir: options.outputDir,
          log_every_steps: options.logEverySteps,
          steps_per_run: options.stepsPerRun,
        },
        task,
        {
          resumeFrom: options.resumeFrom,
          log: io.stderr,
          engine: options.engine === 'onnx' ? createOnnxEngine({ log: (line) => log(io, line) }) : undefined,
          periodic: samples ? [samples] : [],
        },
      );
      const final = join(options.outputDir, 'final');
      await saveCausalLm(model, final);
      log(io, `pretrain: ${result.stopped} at step ${result.global_step}; model in ${final}`);
      const last = (split: string) => (result.history.filter((r) => r.split === split).pop() as Record<string, unknown> | undefined) ?? null;
      const { stopped, global_step, total_steps, best_metric, best_step, run_dir, last_checkpoint } = result;
      return { stopped, global_step, total_steps, best_metric, best_step, run_dir, last_checkpoint, final, last_train: last('train'), last_dev: last('dev') };
    } finally {
      model.dispose();
    }
  } finally {
    await data.close();
    await dev?.close();
  }
}

/**
 * The hook that samples DEMO_PROMPTS (or --sample-prompts-file) every --sample-every-steps steps
 * (default --eval-every-steps; 0 = off), with the tokenizer that prepared the corpus.
 */
async function sampleHook(options: PretrainCommandOptions, data: PackedTokens, model: CausalLm, io: CliIO): Promise<PeriodicHook | null> {
  const everySteps = options.sampleEverySteps ?? options.evalEverySteps;
  if (everySteps === 0) return null;
  const prompts = options.samplePromptsFile === undefined ? [...DEMO_PROMPTS] : await readPrompts({ promptsFile: options.samplePromptsFile }, '--sample-prompts-file');
  if (prompts.length === 0) throw new CliError(`--sample-prompts-file: no prompts in ${options.samplePromptsFile}`);
  if (!existsSync(join(options.tokenizer, 'tokenizer.json'))) throw new CliError(`--tokenizer: no tokenizer.json in ${options.tokenizer}`);
  const tokenizer = await BpeTokenizer.fromDirectory(options.tokenizer);
  const prepared = (data.stats as Partial<PreparedStats>).tokenizer?.sha256;
  const sha = createHash('sha256').update(tokenizer.tokenizerJson).digest('hex');
  if (tokenizer.vocabSize !== data.stats.vocab_size || (prepared !== undefined && prepared !== sha)) {
    throw new CliError(`--tokenizer: ${options.tokenizer} is not the tokenizer that prepared --data (${prepared === undefined ? `vocabulary ${tokenizer.vocabSize} vs ${data.stats.vocab_size}` : `sha256 ${sha.slice(0, 12)} vs ${prepared.slice(0, 12)}`}); pass that one, or --sample-every-steps 0`);
  }
  const longest = Math.max(...(await tokenizer.encodeBatch(prompts, { addSpecialTokens: false })).map((ids) => ids.length + 1));
  if (longest + options.sampleMaxNewTokens > model.config.max_position_embeddings) {
    throw new CliError(`--sample-max-new-tokens: ${options.sampleMaxNewTokens} after a prompt of ${longest} tokens passes the model's ${model.config.max_position_embeddings} positions`);
  }
  log(io, `pretrain: sampling ${prompts.length} prompts every ${everySteps} steps (greedy and sampled, ${options.sampleMaxNewTokens} tokens) into ${join(options.outputDir, SAMPLES_FILE)}`);
  return createSampleHook({ model, tokenizer, prompts, everySteps, maxNewTokens: options.sampleMaxNewTokens, seed: options.seed, outputDir: options.outputDir }, options.resumeFrom !== undefined, io);
}

export function registerPretrain(program: Command, io: CliIO, report: (result: unknown) => void): void {
  program
    .command('pretrain')
    .description('Pretrain a causal LM on a prepared corpus (windows of --seq-len tokens), with warmup, decay, evaluation and checkpoints')
    .requiredOption('--data <dir>', 'a `mateconv prepare` output directory')
    .option('--dev-data <dir>', 'a held-out prepared directory: dev loss and perplexity at each evaluation')
    .option('--output-dir <dir>', 'run dir: config, metrics.jsonl, checkpoints, best/, final/, loss.svg', 'runs/pretrain')
    .addOption(new Option('--preset <name>', 'model size').choices(Object.keys(CAUSAL_LM_PRESETS)).default('cpu-small'))
    .option('--seq-len <n>', 'tokens per training window', numberFlag('--seq-len', { integer: true, min: 2 }), 128)
    .option('--epochs <n>', 'passes over the windows', numberFlag('--epochs', { integer: true, min: 1 }), 1)
    .option('--max-steps <n>', 'stop after this many optimizer steps (0: all epochs)', numberFlag('--max-steps', { integer: true, min: 0 }), 0)
    .option('--batch-size <n>', 'windows per micro-batch', numberFlag('--batch-size', { integer: true, min: 1 }), 16)
    .option('--grad-accum-steps <n>', 'micro-batches per optimizer step', numberFlag('--grad-accum-steps', { integer: true, min: 1 }), 1)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['adamw', 'adam']).default('adamw'))
    .option('--lr <x>', 'peak learning rate', numberFlag('--lr'), 5e-4)
    .option('--min-lr-ratio <x>', 'the decay ends at this fraction of the peak', numberFlag('--min-lr-ratio'), 0.1)
    .option('--warmup-steps <n>', 'linear warmup steps (none invites the repeater)', numberFlag('--warmup-steps', { integer: true, min: 0 }), 100)
    .addOption(new Option('--schedule <name>', 'decay after warmup').choices(['cosine', 'linear', 'polynomial', 'constant']).default('cosine'))
    .option('--max-grad-norm <x>', 'gradient clipping (0: off)', numberFlag('--max-grad-norm'), 1)
    .option('--ema-decay <x>', 'EMA of the weights for evaluation (0: off)', numberFlag('--ema-decay'), 0)
    .option('--eval-every-steps <n>', 'evaluate and checkpoint every N steps (0: each epoch)', numberFlag('--eval-every-steps', { integer: true, min: 0 }), 0)
    .option('--save-every-steps <n>', 'checkpoint every N steps (0: at each evaluation)', numberFlag('--save-every-steps', { integer: true, min: 0 }), 0)
    .option('--patience <n>', 'early stopping after N evaluations without a better dev loss (0: never)', numberFlag('--patience', { integer: true, min: 0 }), 0)
    .option('--log-every-steps <n>', 'steps between train log lines', numberFlag('--log-every-steps', { integer: true, min: 1 }), 10)
    .option(
      '--steps-per-run <n>',
      'with --engine onnx: optimizer steps per onnxruntime run, so weights and AdamW moments cross between host and runtime once per run (the same numbers; a step that logs, evaluates, samples or saves ends a run, so keep --log-every-steps a multiple; no effect with EMA or accumulation)',
      numberFlag('--steps-per-run', { integer: true, min: 1 }),
      5,
    )
    .option('--dev-windows <n>', 'dev windows scored per evaluation', numberFlag('--dev-windows', { integer: true, min: 1 }), 256)
    .option('--seed <n>', 'initialization, shuffling', numberFlag('--seed', { integer: true, min: 0 }), 42)
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .addOption(new Option('--engine <name>', 'where training steps run: tfjs (--backend) or onnx (onnxruntime-node, cuda then cpu)').choices(['tfjs', 'onnx']).default('tfjs'))
    .option('--resume-from <dir>', 'a checkpoint-<step>/ or run dir to continue exactly')
    .option('--sample-every-steps <n>', 'continue fixed prompts (greedy and sampled) every N steps into the log and samples.jsonl (0: off; default --eval-every-steps, so off when that is 0 = each epoch)', numberFlag('--sample-every-steps', { integer: true, min: 0 }))
    .option('--sample-prompts-file <file>', `prompts to sample, one per line (default: ${DEMO_PROMPTS.join(' ')})`)
    .option('--sample-max-new-tokens <n>', 'tokens generated per sample', numberFlag('--sample-max-new-tokens', { integer: true, min: 1 }), 32)
    .option('--tokenizer <dir>', 'the tokenizer that prepared --data (for samples)', bundled.tokenizer)
    .action(async (opts: PretrainCommandOptions) => report(await runPretrain(opts, io)));
}
