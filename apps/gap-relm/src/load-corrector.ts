import { join } from 'node:path';
import { GapRelm, OPTIMUM_MODEL_FILE, OnnxGapRelm, exportGapRelmOnnx, initBackend, knownExecutionProviders, missingGapRelmOnnx } from '@proj/models';
import { Option, type Command } from 'commander';
import { CliError, type CliIO, log, requireFile, requireModelDir } from './cli-io';
import { numberFlag } from './flags';
import { type BACKENDS, addBackendOption, addDecodeOptions } from './model-flags';

export const ENGINES = ['tfjs', 'onnx'] as const;
export type Engine = (typeof ENGINES)[number];

/** Where and how a trained model runs: the flags `predict` and `serve` share. */
export interface CorrectorOptions {
  model: string;
  backend: (typeof BACKENDS)[number];
  /** tfjs runs the model on --backend; onnx runs `<model>/onnx/` on onnxruntime-node (exported on first use). */
  engine?: Engine;
  /** onnxruntime execution providers, tried in order (onnx engine only; default cuda, cpu). */
  providers?: string[];
  /** onnxruntime threads per op (onnx engine; default: the core count). */
  threads?: number;
  /** onnx engine: an optimum-layout BERT masked-LM export used as the infiller instead of `<model>/onnx/infiller.onnx`. */
  infillerOnnx?: string;
  /** onnx engine: the planner's and infiller's weight MatMuls in int8 (`OnnxSessionOptions.int8`). */
  int8?: boolean;
}

/** What runs the model, as `/healthz` reports it. */
export type CorrectorInfo = { engine: 'onnx'; provider: string; model: string; infiller?: string } | { engine: 'tfjs'; backend: string; model: string };

/** A loaded model behind one interface, whichever engine runs it. */
export interface Corrector {
  correct: GapRelm['correct'];
  /** Frees the weights or sessions; the corrector is unusable afterwards. */
  release(): Promise<void>;
  info: CorrectorInfo;
}

/** A loaded model with the planner and infiller logits sources behind `correct` (what `tuneThresholds` reads). */
export interface LoadedCorrector extends Corrector {
  plannerSource: GapRelm['plannerSource'];
  infillerSource: GapRelm['infillerSource'];
}

/**
 * Loads `options.model` on the chosen engine, logging the backend, the engine and the model.
 * tfjs also serves the onnx engine: it reads the model directory and exports `<model>/onnx/` on
 * first use.
 */
export async function loadCorrector(options: CorrectorOptions, io: CliIO): Promise<LoadedCorrector> {
  requireModelDir(options.model, '--model');
  checkProviders(options.providers);
  if (options.int8 && options.engine !== 'onnx') throw new CliError('--int8 quantizes the onnxruntime sessions; it needs --engine onnx');
  if (options.infillerOnnx !== undefined) {
    if (options.engine !== 'onnx') throw new CliError('--infiller-onnx needs --engine onnx');
    requireFile(join(options.infillerOnnx, OPTIMUM_MODEL_FILE), '--infiller-onnx', { binary: true });
  }
  // tfjs runs the tfjs engine, and the onnx engine only when it exports the graphs on first use.
  const startBackend = async () => {
    const backend = await initBackend({ backend: options.backend });
    log(io, `backend: ${backend.name} (${backend.detail})`);
    return backend;
  };
  let corrector: LoadedCorrector;
  if (options.engine === 'onnx') {
    if (missingGapRelmOnnx(options.model, options.infillerOnnx).length > 0) {
      await startBackend();
      log(io, `onnx: exported ${await exportGapRelmOnnx(options.model)}/ (planner.onnx, infiller.onnx) on first use`);
    }
    const onnx = await OnnxGapRelm.load(options.model, { executionProviders: options.providers, intraOpNumThreads: options.threads, infiller: options.infillerOnnx, int8: options.int8, log: (line) => log(io, line) });
    log(io, `engine: onnx (provider ${onnx.provider}, ${onnx.intraOpNumThreads} threads)`);
    const info: CorrectorInfo = { engine: 'onnx', provider: onnx.provider, model: options.model, ...(options.infillerOnnx === undefined ? {} : { infiller: options.infillerOnnx }) };
    corrector = { correct: (texts, decode) => onnx.correct(texts, decode), plannerSource: () => onnx.plannerSource(), infillerSource: () => onnx.infillerSource(), release: () => onnx.release(), info };
  } else {
    const backend = await startBackend();
    const tfjs = await GapRelm.load(options.model);
    log(io, `engine: tfjs (backend ${backend.name})`);
    corrector = {
      correct: (texts, decode) => tfjs.correct(texts, decode),
      plannerSource: () => tfjs.plannerSource(),
      infillerSource: () => tfjs.infillerSource(),
      release: async () => tfjs.dispose(),
      info: { engine: 'tfjs', backend: backend.name, model: options.model },
    };
  }
  log(io, `model: ${options.model}`);
  return corrector;
}

/**
 * The flags of `CorrectorOptions` (but --model, whose help differs per command) and the decoding
 * flags: --thresholds, then one flag per decode setting (read back with `decodeConfigFrom`).
 */
export function addCorrectorOptions(command: Command, defaultEngine: Engine): Command {
  command.option('--thresholds <file>', 'decision thresholds from `gap-relm tune` (default: <model>/thresholds.json when there, as `export --output` writes; flags given here override them)');
  addEngineOptions(command, defaultEngine)
    .option('--infiller-onnx <dir>', 'onnx engine: infiller from a Hugging Face BERT masked LM exported to ONNX (optimum layout: model.onnx, config.json, tokenizer files) instead of <model>/onnx/infiller.onnx');
  addBackendOption(command);
  return addDecodeOptions(command);
}

/** --engine, --providers, --threads and --int8: where a trained model runs (read by `loadCorrector`). */
export function addEngineOptions(command: Command, defaultEngine: Engine): Command {
  command.addOption(new Option('--engine <name>', 'tfjs, or onnx: onnxruntime-node on <model>/onnx/ (exported there on first use)').choices([...ENGINES]).default(defaultEngine));
  command.option('--int8', "onnx engine: the planner's and infiller's weight MatMuls in int8 (dynamic quantization): faster, not bit-equal to float, and a sentence can change with the sentences it shares a batch with", false);
  return addProviderOptions(command);
}

/**
 * --providers and the onnx engine's threads per op (check the list with `checkProviders`). The
 * threads flag is --threads, or another name where --threads already means worker threads (train).
 */
export function addProviderOptions(command: Command, threadsFlag: '--threads' | '--onnx-threads' = '--threads'): Command {
  return command
    .option('--providers <list>', 'onnx engine: execution providers tried in order, comma-separated (cuda needs the CUDA provider installed: docs/onnx.md, GPU deployment)', (v: string) => v.split(',').map((p) => p.trim()).filter((p) => p !== ''), ['cuda', 'cpu'])
    .option(`${threadsFlag} <n>`, 'onnx engine: threads per op (default: the core count)', numberFlag(threadsFlag, { integer: true, min: 1 }));
}

/** --providers: every name one onnxruntime-node knows, and at least one. */
export function checkProviders(providers: string[] | undefined): void {
  if (providers === undefined) return;
  const known = knownExecutionProviders();
  const unknown = providers.filter((p) => !known.includes(p));
  if (unknown.length > 0) throw new CliError(`--providers: unknown execution provider ${unknown.map((p) => `"${p}"`).join(', ')}; onnxruntime-node knows ${known.join(', ')}`);
  if (providers.length === 0) throw new CliError('--providers: give at least one execution provider, e.g. cpu');
}
