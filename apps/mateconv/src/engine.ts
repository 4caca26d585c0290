import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  CAUSAL_LM_WEIGHTS_FILE,
  OnnxCausalLmSource,
  TfCausalLmSource,
  causalLmToOnnx,
  describeQuantizeReport,
  createCausalLmTask,
  heldoutLoss,
  type CausalLm,
  type HeldoutLoss,
  type PackedTokens,
} from '@proj/models';
import type { CausalLogitsSource } from '@proj/sampling';
import { type CliIO, CliError, log } from './cli-io';

/** Where generation and held-out scoring run: onnxruntime with the KV cache, tfjs, or auto (onnx when it can). */
export type EngineChoice = 'auto' | 'onnx' | 'tfjs';
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'onnx', 'tfjs'];

/** One model on one engine, for `generate`, `chat` and `eval`. */
export interface LmEngine {
  readonly name: 'onnx' | 'tfjs';
  /** Runs `fn` with a logits source for `generate` of @proj/sampling, freeing its cache afterwards. */
  withSource<R>(fn: (source: CausalLogitsSource) => Promise<R>): Promise<R>;
  /** Held-out loss and perplexity of the first `windows` windows of `seqLen + 1` tokens. */
  heldout(data: PackedTokens, seqLen: number, windows: number): Promise<HeldoutLoss>;
  release(): Promise<void>;
}

/** The export `mateconv export` writes beside a checkpoint. */
export const onnxExportPath = (modelDir: string) => join(modelDir, 'onnx', 'model.onnx');

/** The model on the current tfjs backend (its Variables as they are at each call: pretraining samples through it). */
export function tfjsEngine(model: CausalLm): LmEngine {
  return {
    name: 'tfjs',
    async withSource(fn) {
      const source = new TfCausalLmSource(model);
      try {
        return await fn(source);
      } finally {
        source.dispose();
      }
    },
    async heldout(data, seqLen, windows) {
      const count = Math.min(windows, data.numWindows(seqLen));
      const { loss, perplexity } = (await createCausalLmTask(model, { train: data, seqLen, dev: data, devWindows: count }).evaluate!({ epoch: 0, step: 0 })) as { loss: number; perplexity: number };
      return { loss, perplexity, windows: count };
    },
    release: async () => {},
  };
}

/** onnxruntime's failures of a run (OnnxCausalLmSource names them) become one CLI line. */
async function asCliError<R>(fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof RangeError && /^OnnxCausalLmSource\.\w+: .* failed in onnxruntime/.test(error.message)) throw new CliError(`--engine onnx: ${error.message}`);
    throw error;
  }
}

function onnxEngine(source: OnnxCausalLmSource, vocab: number): LmEngine {
  return {
    name: 'onnx',
    withSource: (fn) => asCliError(() => fn(source)),
    heldout: (data, seqLen, windows) => asCliError(() => heldoutLoss(data, { seqLen, windows, vocab }, (ids, rows, length) => source.logitsOf(ids, rows, length))),
    release: () => source.release(),
  };
}

/** How the model runs on onnxruntime. */
export interface OnnxOptions {
  /** Weight MatMuls in int8 (`OnnxSessionOptions.int8`): faster, not bit-equal to float, and a row can depend on the rows it shares a call with. */
  int8?: boolean;
}

/**
 * The ONNX session of `modelDir`: its `onnx/model.onnx` when that has past key/values and is not
 * older than the weights, else an export of the loaded checkpoint made in memory; with `int8`,
 * that graph with its weight MatMuls quantized.
 */
async function openOnnx(model: CausalLm, modelDir: string, io: CliIO, options: OnnxOptions): Promise<{ source: OnnxCausalLmSource; from: string }> {
  const open = async (onnxModel: string | Uint8Array, from: string) => {
    const source = await OnnxCausalLmSource.create(onnxModel, model.config, { int8: options.int8 });
    return { source, from: source.quantized ? `${from}; ${describeQuantizeReport(source.quantized)}` : from };
  };
  const file = onnxExportPath(modelDir);
  if (existsSync(file)) {
    if (statSync(file).mtimeMs < statSync(join(modelDir, CAUSAL_LM_WEIGHTS_FILE)).mtimeMs) log(io, `engine: ${file} is older than the weights; exporting the checkpoint instead`);
    else {
      try {
        return await open(file, file);
      } catch (error) {
        log(io, `engine: ${file} cannot be used (${(error as Error).message.split('\n')[0]}); exporting the checkpoint instead`);
      }
    }
  }
  // The KV-cache graph's only length-sized constant is a vector, so it can cover every position.
  return open(await causalLmToOnnx(model, { kvCache: true, maxLength: model.config.max_position_embeddings }), 'exported from the checkpoint in memory');
}

/**
 * Opens `model` (loaded from `modelDir` on the tfjs backend `tfBackend`) on the chosen engine and says on stderr which runs:
 * onnx = onnxruntime-node with the KV cache (prompts left-padded, one token per row per step);
 * tfjs = the model on the tfjs backend (KV cache when prompts have equal lengths); auto = onnx,
 * falling back to tfjs with the reason when onnxruntime cannot run the model.
 */
export async function openEngine(model: CausalLm, modelDir: string, choice: EngineChoice, io: CliIO, tfBackend: string, options: OnnxOptions = {}): Promise<LmEngine> {
  if (choice === 'tfjs' && options.int8) throw new CliError('--int8 quantizes the onnxruntime model; it needs --engine onnx or auto');
  if (choice !== 'tfjs') {
    try {
      const { source, from } = await openOnnx(model, modelDir, io, options);
      log(io, `engine: onnx (onnxruntime-node, ${source.provider} provider, ${source.threads} threads, KV cache; ${from})`);
      return onnxEngine(source, model.config.vocab_size);
    } catch (error) {
      const why = (error as Error).message.split('\n')[0];
      if (choice === 'onnx') throw new CliError(`--engine onnx: onnxruntime cannot run the model: ${why}`);
      log(io, `engine: onnxruntime cannot run the model (${why}); falling back to tfjs${options.int8 ? ' (float: --int8 applies to onnxruntime only)' : ''}`);
    }
  }
  log(io, `engine: tfjs (${tfBackend} backend, KV cache for equal-length prompts)`);
  return tfjsEngine(model);
}
