import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GapRelm, OnnxGapRelm, exportGapRelmOnnx, gapRelmOnnxDir, initBackend } from '@proj/models';
import { Option, type Command } from 'commander';
import { type CliIO, log, requireFile } from './cli-io';
import { parseIntFlag } from './flags';
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
}

/** What runs the model, as `/healthz` reports it. */
export type CorrectorInfo = { engine: 'onnx'; provider: string; model: string } | { engine: 'tfjs'; backend: string; model: string };

/** A loaded model behind one interface, whichever engine runs it. */
export interface Corrector {
  correct: GapRelm['correct'];
  /** Frees the weights or sessions; the corrector is unusable afterwards. */
  release(): Promise<void>;
  info: CorrectorInfo;
}

/**
 * Loads `options.model` on the chosen engine, logging the backend, the engine and the model.
 * tfjs also serves the onnx engine: it reads the model directory and exports `<model>/onnx/` on
 * first use.
 */
export async function loadCorrector(options: CorrectorOptions, io: CliIO): Promise<Corrector> {
  requireFile(options.model, '--model');
  const backend = await initBackend({ backend: options.backend });
  log(io, `backend: ${backend.name} (${backend.detail})`);
  let corrector: Corrector;
  if (options.engine === 'onnx') {
    if (!existsSync(join(gapRelmOnnxDir(options.model), 'planner.onnx')) || !existsSync(join(gapRelmOnnxDir(options.model), 'infiller.onnx'))) {
      log(io, `onnx: exported ${await exportGapRelmOnnx(options.model)}/ (planner.onnx, infiller.onnx) on first use`);
    }
    const onnx = await OnnxGapRelm.load(options.model, { executionProviders: options.providers, intraOpNumThreads: options.threads, log: (line) => log(io, line) });
    log(io, `engine: onnx (provider ${onnx.provider}, ${onnx.intraOpNumThreads} threads)`);
    corrector = { correct: (texts, decode) => onnx.correct(texts, decode), release: () => onnx.release(), info: { engine: 'onnx', provider: onnx.provider, model: options.model } };
  } else {
    const tfjs = await GapRelm.load(options.model);
    log(io, `engine: tfjs (backend ${backend.name})`);
    corrector = { correct: (texts, decode) => tfjs.correct(texts, decode), release: async () => tfjs.dispose(), info: { engine: 'tfjs', backend: backend.name, model: options.model } };
  }
  log(io, `model: ${options.model}`);
  return corrector;
}

/**
 * The flags of `CorrectorOptions` (but --model, whose help differs per command) and the decoding
 * flags: --thresholds, then one flag per decode setting (read back with `decodeConfigFrom`).
 */
export function addCorrectorOptions(command: Command, defaultEngine: Engine): Command {
  command
    .option('--thresholds <file>', 'decision thresholds from `gap-relm tune` (flags given here override them)')
    .addOption(new Option('--engine <name>', 'tfjs, or onnx: onnxruntime-node on <model>/onnx/ (exported there on first use)').choices([...ENGINES]).default(defaultEngine))
    .option('--providers <list>', 'onnx engine: execution providers tried in order, comma-separated', (v: string) => v.split(',').map((p) => p.trim()).filter((p) => p !== ''), ['cuda', 'cpu'])
    .option('--threads <n>', 'onnx engine: threads per op (default: the core count)', parseIntFlag('--threads', 1));
  addBackendOption(command);
  return addDecodeOptions(command);
}
