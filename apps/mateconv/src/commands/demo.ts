import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CAUSAL_LM_PRESETS, type BackendChoice, type CausalLmPreset } from '@proj/models';
import { Option, type Command } from 'commander';
import { bundled } from '../bundled-data';
import { type CliIO, CliError, log } from '../cli-io';
import { ENGINE_CHOICES, type EngineChoice } from '../engine';
import { DEMO_PROMPTS } from '../demo-prompts';
import { numberFlag } from '../flags';
import { runEval, type EvalReport } from './eval';
import { runPrepare } from './prepare';
import { runPretrain, type PretrainSummary } from './pretrain';

/** The bundled Chinese Wikipedia sentences (CC0), shipped by apps/gap-relm (see data/PROVENANCE.md). */
const BUNDLED_CORPUS = fileURLToPath(new URL('../../../gap-relm/data/corpus/wiki.zh-cn.txt', import.meta.url));


export interface DemoCommandOptions {
  outputDir: string;
  corpus: string;
  devLines: number;
  preset: CausalLmPreset;
  seqLen: number;
  batchSize: number;
  maxSteps: number;
  lr: number;
  warmupSteps: number;
  evalEverySteps: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  repetitionPenalty: number;
  seed: number;
  /** Where training steps run. */
  trainEngine: 'onnx' | 'tfjs';
  /** Where generation and held-out scoring run. */
  engine: EngineChoice;
  backend: BackendChoice;
}

export interface DemoReport {
  settings: Pick<DemoCommandOptions, 'preset' | 'seqLen' | 'batchSize' | 'maxSteps' | 'lr' | 'warmupSteps' | 'temperature' | 'topP' | 'repetitionPenalty' | 'seed'>;
  pretrain: PretrainSummary;
  eval: EvalReport;
  seconds: { prepare: number; pretrain: number; eval: number };
}

/**
 * prepare → pretrain → eval on the bundled corpus: the first `devLines` sentences are held out,
 * the rest train a small model on the onnxruntime engine; then held-out perplexity and the
 * continuations of DEMO_PROMPTS at the given sampling settings, with their repetition measures.
 * The repeater study runs it twice: the recommended settings (the defaults) and the failure ones
 * (`--warmup-steps 0 --lr 2e-2 --max-steps 20`).
 */
export async function runDemo(options: DemoCommandOptions, io: CliIO): Promise<DemoReport> {
  if (!existsSync(options.corpus)) throw new CliError(`--corpus: file not found: ${options.corpus}`);
  const lines = readFileSync(options.corpus, 'utf8').split('\n').filter((line) => line.trim() !== '');
  if (lines.length <= options.devLines) throw new CliError(`--dev-lines: ${options.devLines} leaves no training lines of the ${lines.length} in ${options.corpus}`);
  const data = join(options.outputDir, 'data');
  await mkdir(data, { recursive: true });
  const clock = () => performance.now() / 1000;
  const t0 = clock();
  // 1. Split and pack (resumable: a second demo run in the same directory reuses both).
  for (const [split, part] of [['dev', lines.slice(0, options.devLines)], ['train', lines.slice(options.devLines)]] as const) {
    const file = join(data, `${split}.txt`);
    await writeFile(file, `${part.join('\n')}\n`);
    await runPrepare({ input: [file], outputDir: join(data, split), tokenizer: bundled.tokenizer, format: 'text', field: 'text', wrap: true, threads: 0, chunkLines: 2048, fresh: false, progress: false }, io);
  }
  const t1 = clock();
  // 2. Pretrain: warmup then cosine to 10% of the peak, dev loss every evalEverySteps.
  const run = join(options.outputDir, 'pretrain');
  const pretrain = await runPretrain(
    {
      data: join(data, 'train'),
      devData: join(data, 'dev'),
      outputDir: run,
      preset: options.preset,
      seqLen: options.seqLen,
      epochs: 1,
      maxSteps: options.maxSteps,
      batchSize: options.batchSize,
      gradAccumSteps: 1,
      optimizer: 'adamw',
      lr: options.lr,
      minLrRatio: 0.1,
      warmupSteps: options.warmupSteps,
      schedule: 'cosine',
      maxGradNorm: 1,
      emaDecay: 0,
      evalEverySteps: options.evalEverySteps,
      saveEverySteps: 0,
      patience: 0,
      logEverySteps: 10,
      stepsPerRun: 5,
      devWindows: 64,
      seed: options.seed,
      backend: options.backend,
      engine: options.trainEngine,
      // Samples of the fixed prompts at each evaluation, in the log and pretrain/samples.jsonl.
      sampleEverySteps: options.evalEverySteps,
      sampleMaxNewTokens: options.maxNewTokens,
      tokenizer: bundled.tokenizer,
    },
    io,
  );
  const t2 = clock();
  // 3. Held-out perplexity and sampled continuations of the fixed prompts.
  const evaluation = await runEval(
    {
      model: pretrain.final,
      tokenizer: bundled.tokenizer,
      prompt: [...DEMO_PROMPTS],
      data: join(data, 'dev'),
      seqLen: options.seqLen,
      windows: 64,
      samples: DEMO_PROMPTS.length,
      maxNewTokens: options.maxNewTokens,
      sample: true,
      temperature: options.temperature,
      topK: 0,
      topP: options.topP,
      minP: 0,
      repetitionPenalty: options.repetitionPenalty,
      noRepeatNgramSize: 0,
      seed: options.seed,
      backend: options.backend,
      engine: options.engine,
    },
    io,
  );
  const t3 = clock();
  for (const g of evaluation.samples) log(io, `demo: ${g.prompt} → ${g.text.replace(/\n/g, ' ')}`);
  const { preset, seqLen, batchSize, maxSteps, lr, warmupSteps, temperature, topP, repetitionPenalty, seed } = options;
  return {
    settings: { preset, seqLen, batchSize, maxSteps, lr, warmupSteps, temperature, topP, repetitionPenalty, seed },
    pretrain,
    eval: evaluation,
    seconds: { prepare: t1 - t0, pretrain: t2 - t1, eval: t3 - t2 },
  };
}

export function registerDemo(program: Command, io: CliIO, report: (result: unknown) => void): void {
  program
    .command('demo')
    .description('prepare → pretrain (a few minutes on onnxruntime) → held-out perplexity and sampled continuations of fixed prompts, on the bundled Chinese Wikipedia sentences')
    .option('--output-dir <dir>', 'data/, pretrain/ (checkpoints, final/, metrics) go here', 'runs/mateconv-demo')
    .option('--corpus <file>', 'plain text, one document a line (default: the bundled Wikipedia sentences)', BUNDLED_CORPUS)
    .option('--dev-lines <n>', 'the first lines held out for perplexity', numberFlag('--dev-lines', { integer: true, min: 1 }), 2000)
    .addOption(new Option('--preset <name>', 'model size').choices(Object.keys(CAUSAL_LM_PRESETS)).default('cpu-small'))
    .option('--seq-len <n>', 'tokens per training window', numberFlag('--seq-len', { integer: true, min: 2 }), 128)
    .option('--batch-size <n>', 'windows per step', numberFlag('--batch-size', { integer: true, min: 1 }), 16)
    .option('--max-steps <n>', 'optimizer steps', numberFlag('--max-steps', { integer: true, min: 1 }), 240)
    .option('--lr <x>', 'peak learning rate', numberFlag('--lr'), 2e-3)
    .option('--warmup-steps <n>', 'linear warmup steps (0 invites the repeater)', numberFlag('--warmup-steps', { integer: true, min: 0 }), 24)
    .option('--eval-every-steps <n>', 'dev loss every N steps', numberFlag('--eval-every-steps', { integer: true, min: 1 }), 60)
    .option('--max-new-tokens <n>', 'tokens generated per prompt', numberFlag('--max-new-tokens', { integer: true, min: 1 }), 48)
    .option('--temperature <x>', 'sampling temperature', numberFlag('--temperature'), 1)
    .option('--top-p <x>', 'nucleus sampling mass', numberFlag('--top-p'), 0.95)
    .option('--repetition-penalty <x>', 'penalty on tokens already in the row', numberFlag('--repetition-penalty'), 1.2)
    .option('--seed <n>', 'initialization, shuffling, sampling', numberFlag('--seed', { integer: true, min: 0 }), 42)
    .addOption(new Option('--train-engine <name>', 'where training steps run').choices(['onnx', 'tfjs']).default('onnx'))
    .addOption(new Option('--engine <name>', 'where generation and perplexity run').choices(ENGINE_CHOICES).default('auto'))
    .addOption(new Option('--backend <name>', 'tfjs backend').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .action(async (opts: DemoCommandOptions) => report(await runDemo(opts, io)));
}
