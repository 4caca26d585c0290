import { join } from 'node:path';
import { readCleanSentences, ConfusionSet, ErrorGenerator, generateFrozenDev, parseSynthConfig } from '@proj/data-synth';
import { BertTokenizer, GapRelm, SIMILAR_CHARS_FILE, buildCharVocab, initBackend, onlineExamples, parseGapRelmConfig, checkGapRelmResume, trainGapRelm } from '@proj/models';
import { SkipCounter } from '@proj/core';
import { checkPrecision, parseTrainConfig } from '@proj/trainer';
import { Option, type Command } from 'commander';
import { type CliIO, CliError, log, requireDir, requireFile, requireOutputDir } from '../cli-io';
import { addProviderOptions, checkProviders } from '../load-corrector';
import { checkDecodeConfig } from '../decode-config';
import { checkedExamples } from '../checked-examples';
import { numberFlag } from '../flags';
import { TRAIN_DECODE_EXCLUDE, addBackendOption, addDecodeOptions, decodeFields, modelFields, trainFields } from '../model-flags';
import { addSchemaOptions, validated, valuesFromOptions } from '../schema-flags';
import { addSynthConfigOptions, addSynthInputOptions, confusionFilesFrom, synthConfigFrom, type SynthInputFlags } from '../synth-flags';
import { resolveInitFrom } from './pretrained';

export const STAGES = ['infiller_pretrain', 'planner_train', 'joint_finetune'] as const;
type StageName = (typeof STAGES)[number];

export interface TrainCommandOptions extends SynthInputFlags {
  trainFile?: string;
  devFile?: string;
  devSamples: number;
  devEvalLimit: number;
  vocabMinFreq: number;
  stages: string;
  stageMaxSteps?: string;
  /** `--stage-time-shares`: how --max-seconds is split across the stages (default: their steps). */
  stageTimeShares?: string;
  backend: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  /** Where training steps and dev evaluation run: onnxruntime (auto, the default) or tfjs. */
  engine?: 'auto' | 'onnx' | 'tfjs';
  /** onnx engine: execution providers tried in order (default cuda, cpu) and threads per op (--onnx-threads). */
  providers?: string[];
  onnxThreads?: number;
  resumeFrom?: string;
  [flag: string]: unknown;
}

/** Full-width punctuation a from-scratch vocabulary always has (the bundled corpus has no comma at all). */
const VOCAB_PUNCTUATION = '，。、；：？！“”‘’（）《》…—·';

/** vocab.txt text: characters of `sentences` seen at least `minFreq` times, plus every character of `always`. */
function fromScratchVocabulary(sentences: readonly string[], always: readonly string[], minFreq: number): string {
  const tokens = buildCharVocab(sentences, { minFreq }).toText().trimEnd().split('\n');
  const known = new Set(tokens);
  for (const token of buildCharVocab(always).toText().trimEnd().split('\n')) if (!known.has(token)) tokens.push(token);
  return `${tokens.join('\n')}\n`;
}

function parseStages(value: string): StageName[] {
  const stages = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const stage of stages) {
    if (!(STAGES as readonly string[]).includes(stage)) throw new CliError(`--stages: unknown stage "${stage}" (known: ${STAGES.join(', ')})`);
  }
  if (stages.length === 0) throw new CliError('--stages: give at least one stage');
  return stages as StageName[];
}

/** A comma-separated flag with one number per stage, in --stages order, each passing `valid`. */
function parsePerStage(flag: string, value: string, stages: StageName[], valid: (n: number) => boolean, expected: string): number[] {
  const values = value.split(',').map(Number);
  if (values.length !== stages.length || values.some((n) => !valid(n))) {
    throw new CliError(`${flag}: expected ${stages.length} ${expected} (one per stage: ${stages.join(', ')}), got "${value}"`);
  }
  return values;
}

/** `--stage-max-steps 500,200,200`: one optimizer-step budget per stage, in --stages order. */
function parseStageMaxSteps(value: string | undefined, stages: StageName[]): Partial<Record<StageName, { max_steps: number }>> {
  if (value === undefined) return {};
  const steps = parsePerStage('--stage-max-steps', value, stages, (n) => Number.isInteger(n) && n >= 0, 'integers >= 0');
  return Object.fromEntries(stages.map((stage, i) => [stage, { max_steps: steps[i] }]));
}

/** `--stage-time-shares 2.3,1.4`: relative shares of --max-seconds per stage, in --stages order. */
function parseStageTimeShares(value: string | undefined, stages: StageName[]): Partial<Record<StageName, number>> | undefined {
  if (value === undefined) return undefined;
  const shares = parsePerStage('--stage-time-shares', value, stages, (n) => Number.isFinite(n) && n > 0, 'numbers > 0');
  return Object.fromEntries(stages.map((stage, i) => [stage, shares[i]]));
}

/**
 * Trains a Gap-ReLM corrector: on precomputed JSONL (--train-file) or with fresh synthetic errors
 * every epoch from a clean corpus (the default), evaluating on a frozen dev set held out of it.
 */
export async function runTrain(options: TrainCommandOptions, io: CliIO) {
  const synth = synthConfigFrom(options);
  const mFields = modelFields();
  const tFields = trainFields();
  const modelConfig = validated(mFields, () => parseGapRelmConfig({ ...valuesFromOptions(options, mFields), max_insert_k: synth.max_insert_k }, 'gap-relm train'));
  const trainConfig = validated(tFields, () => parseTrainConfig({ ...valuesFromOptions(options, tFields), seed: synth.seed, output_dir: options.outputDir }));
  const decode = valuesFromOptions(options, decodeFields(TRAIN_DECODE_EXCLUDE));
  checkDecodeConfig(decode);
  const stages = parseStages(options.stages);
  const stageOverrides = parseStageMaxSteps(options.stageMaxSteps, stages);
  // --max-seconds is the budget of the whole run, split across its stages (trainGapRelm).
  const stageTimeShares = parseStageTimeShares(options.stageTimeShares, stages);
  if (stageTimeShares !== undefined && trainConfig.max_seconds === 0) throw new CliError('--stage-time-shares splits --max-seconds across the stages: give --max-seconds too');
  requireOutputDir(options.outputDir, '--output-dir');
  // --init-from: a pretrained name (fetched or cached), an HF BERT directory or an ONNX export (imported), resolved before any work.
  if (trainConfig.head_lr_scale !== 1 && modelConfig.init_from === null) {
    throw new CliError(`--head-lr-scale ${trainConfig.head_lr_scale}: it scales the lr of the heads a pretrained encoder lacks, so it needs --init-from; from scratch every parameter is new: use --lr`);
  }
  const initFrom = modelConfig.init_from === null ? null : (await resolveInitFrom(modelConfig.init_from, io)).dir;
  if (options.resumeFrom !== undefined) {
    // Checked before any work: a wrong path must never mean a silent fresh start.
    requireDir(options.resumeFrom, '--resume-from');
    try {
      await checkGapRelmResume(options.resumeFrom, options.outputDir, stages);
    } catch (error) {
      throw new CliError(`--resume-from: ${(error as Error).message.replace(/^(resolveGapRelmResume|trainGapRelm): /, '')}`);
    }
  }

  const backend = await initBackend({ backend: options.backend });
  log(io, `backend: ${backend.name} (${backend.detail})`);
  const engine = options.engine === 'tfjs' ? 'tfjs' : 'onnx';
  checkProviders(options.providers);
  log(io, `engine: ${engine === 'onnx' ? 'onnx (training steps and dev evaluation on onnxruntime-node)' : `tfjs (${backend.name})`}${options.engine === 'auto' || options.engine === undefined ? ', from --engine auto' : ''}`);
  try {
    checkPrecision(trainConfig, backend.name);
  } catch (error) {
    throw new CliError((error as Error).message.replace(/^checkPrecision: /, '').replace(/config\.(fp16|bf16)/g, '--$1').replace(/unset (fp16|bf16)/, 'drop --$1'));
  }

  // Dev set: a given precomputed file, or a frozen dev set drawn from the clean corpus and held out of training.
  let devFile = options.devFile;
  if (devFile !== undefined) requireFile(devFile, '--dev-file');
  else {
    requireFile(options.cleanFile, '--clean-file');
    devFile = join(options.outputDir, 'data', 'dev.jsonl');
    await generateFrozenDev({
      cleanFile: options.cleanFile,
      format: options.cleanFileFormat,
      textField: options.cleanTextField,
      outputFile: devFile,
      numSamples: options.devSamples,
      config: synth,
      confusionFiles: confusionFilesFrom(options),
    });
  }
  const skips = new SkipCounter();
  const dev = await checkedExamples(devFile, '--dev-file', skips);

  // Training data, and the text a from-scratch vocabulary is built from: every character the
  // model can meet in training. A character outside the vocabulary is [UNK], and if only errors
  // brought [UNK]s (a confusable character the clean corpus lacks) the planner would learn
  // "[UNK] = error" and rewrite every rare character at test time.
  let sentences: string[] = [];
  const vocabText: string[] = [VOCAB_PUNCTUATION];
  let train;
  if (options.trainFile !== undefined) {
    train = await checkedExamples(requireFile(options.trainFile, '--train-file'), '--train-file', skips, (example) => {
      sentences.push(example.target);
      vocabText.push(example.source);
    });
  } else {
    requireFile(options.cleanFile, '--clean-file');
    const held = new Set<string>();
    for (let i = 0; i < dev.length; i++) held.add((await dev.get(i, 0)).target);
    const clean = readCleanSentences(options.cleanFile, { format: options.cleanFileFormat, textField: options.cleanTextField });
    for await (const { text } of clean) if (!held.has(text)) sentences.push(text);
    log(io, `train: ${sentences.length} clean sentences (${held.size} held out for dev), fresh errors every epoch`);
    const confusion = await ConfusionSet.fromFiles(confusionFilesFrom(options));
    for (const [char, confusables] of confusion.entries()) vocabText.push(char + confusables.join(''));
    train = onlineExamples(sentences, new ErrorGenerator(parseSynthConfig(synth), confusion), synth.seed);
  }

  if (skips.count > 0) log(io, `train: ${skips.summary()}: ${skips.examples.join('; ')}`);

  // --similar-fill-bonus decodes with the confusion sets (--confusion-file), saved with the model.
  let similarChars: ConfusionSet | null = null;
  if (modelConfig.similar_fill_bonus > 0) {
    similarChars = await ConfusionSet.fromFiles(confusionFilesFrom(options));
    log(io, `train: similar-character table for --similar-fill-bonus ${modelConfig.similar_fill_bonus}: ${similarChars.size} characters from the confusion sets, saved as ${SIMILAR_CHARS_FILE}`);
  }
  // From scratch the vocabulary is a normal vocab.txt; --vocab-min-freq applies to the sentences,
  // and the confusion characters and punctuation are always in.
  const model =
    initFrom !== null
      ? await GapRelm.fromPretrained({ ...modelConfig, init_from: initFrom }, synth.seed, { similarChars })
      : GapRelm.create(modelConfig, BertTokenizer.fromVocabText(fromScratchVocabulary(sentences, vocabText, options.vocabMinFreq)), synth.seed, similarChars);
  sentences = [];
  log(io, model.describe());

  const result = await trainGapRelm({
    model,
    train,
    dev,
    stages,
    trainConfig: { ...trainConfig, max_seconds: 0 },
    stageOverrides,
    timeBudget: { seconds: trainConfig.max_seconds, shares: stageTimeShares },
    decode,
    devEvalLimit: options.devEvalLimit,
    outputDir: options.outputDir,
    log: options.progress ? io.stderr : null,
    resumeFrom: options.resumeFrom,
    engine,
    onnx: { executionProviders: options.providers, intraOpNumThreads: options.onnxThreads, log: (line) => log(io, line) },
  }).finally(() => Promise.all([train.close(), dev.close()]));
  return {
    backend: backend.name,
    engine,
    output_dir: options.outputDir,
    final: result.finalDir,
    best: result.bestDir,
    stages: result.stages.map(({ name, result: r }) => ({ name, stopped: r.stopped, steps: r.global_step, planned_steps: r.total_steps, best_metric: r.best_metric })),
  };
}

export function registerTrain(program: Command, io: CliIO, report: (result: unknown) => void): void {
  const command = program
    .command('train')
    .description('Train a Gap-ReLM corrector (planner + infiller) in stages, from scratch or from a BERT checkpoint (--init-from)')
    .option('--train-file <file>', 'precomputed JSONL to train on (default: fresh synthetic errors every epoch from --clean-file)')
    .option('--dev-file <file>', 'precomputed JSONL dev set (default: a frozen dev set of --dev-samples held out of --clean-file)')
    .option('--dev-samples <n>', 'frozen dev sentences drawn from --clean-file', numberFlag('--dev-samples', { integer: true, min: 1 }), 500)
    .option('--dev-eval-limit <n>', 'dev sentences corrected at each evaluation (F1)', numberFlag('--dev-eval-limit', { integer: true, min: 1 }), 200)
    .option('--vocab-min-freq <n>', 'from scratch: characters seen fewer times are [UNK]', numberFlag('--vocab-min-freq', { integer: true, min: 1 }), 1)
    .option('--stages <list>', `comma-separated, in order: ${STAGES.join(', ')}`, STAGES.join(','))
    .option('--stage-max-steps <list>', 'optimizer steps per stage, comma-separated in --stages order (0 = all epochs); overrides --max-steps')
    .option('--stage-time-shares <list>', 'how --max-seconds (here the budget of all stages together, setup included) is split: relative shares in --stages order, e.g. steps × seconds per step; default: the planned steps. Time a stage leaves passes to the next')
    .option('--resume-from <dir>', 'continue an earlier run (its --output-dir: finished stages are skipped) or one of its <stage>/checkpoint-<step> directories (same global step and loss curve)');
  addBackendOption(command);
  command.addOption(new Option('--engine <name>', 'where training steps and dev evaluation run: onnx (onnxruntime-node on --providers), tfjs (--backend), auto = onnx').choices(['auto', 'onnx', 'tfjs']).default('auto'));
  addProviderOptions(command, '--onnx-threads');
  addSynthInputOptions(command, 'runs/gap-relm');
  addSynthConfigOptions(command);
  addSchemaOptions(command, modelFields());
  addSchemaOptions(command, trainFields());
  addDecodeOptions(command, TRAIN_DECODE_EXCLUDE);
  command.action(async (opts: TrainCommandOptions) => report(await runTrain(opts, io)));
}
