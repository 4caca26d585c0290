import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '@proj/core';
import { OnnxSgddDenoiser, SGDD_PASS_WEIGHTS, SGDD_WEIGHTS_FILE, SgddDenoiser, createOnnxSession, describeQuantizeReport, sampleSgdd, sgddDecoderToOnnx, type OnnxSession, type SgddModel } from '@proj/models';
import { CliError, log, type CliIO } from './cli-io';

/** Where the decoder runs while sampling: onnxruntime, tfjs, or auto (onnxruntime when it can). */
export type EngineChoice = 'auto' | 'onnx' | 'tfjs';
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'onnx', 'tfjs'];

/** The engine a sampler runs on, once `auto` is resolved. */
export type Engine = 'onnx' | 'tfjs';

/** Decodes sentences from vectors: the tfjs model, or its exported decoder on onnxruntime. */
export interface Sampler {
  engine: Engine;
  /** `rng`: one stream per row (`rowStreams`), so a row's sample does not depend on the rows it shares the call with. */
  sample(vectors: readonly Float32Array[], lengths: readonly number[], options: { steps: number; guidance: number; temperature: number; rng: readonly Rng[] }): Promise<Int32Array[]>;
  release(): Promise<void>;
}

/**
 * The streams of `rows` rows seeded `seed`, row b's `Rng.derive(seed, b)`. serve keys a text by
 * its request's seed and its index in the request; sample and eval by seed + the batch's offset
 * and its index in the batch.
 */
export const rowStreams = (seed: number, rows: number): Rng[] => Array.from({ length: rows }, (_, b) => Rng.derive(seed, b));

/** A sampler on `session` (the exported decoder; released with the sampler), or on tfjs when null. */
function samplerOn(model: SgddModel, session: OnnxSession['session'] | null): Sampler {
  return {
    engine: session ? 'onnx' : 'tfjs',
    async sample(vectors, lengths, o) {
      const source = session ? new OnnxSgddDenoiser(session, model.config, vectors) : new SgddDenoiser(model, vectors);
      const result = await sampleSgdd(source, lengths, { steps: o.steps, guidance: o.guidance, temperature: o.temperature, choiceTemperature: o.temperature > 0 ? 4.5 : 0, rng: o.rng });
      return result.tokens;
    },
    async release() {
      await session?.release();
    },
  };
}

/** The decoder `sgdd export` writes beside a model. */
export const decoderExportPath = (modelDir: string) => join(modelDir, 'onnx', 'decoder.onnx');

/** How the decoder runs on onnxruntime. */
export interface DecoderOptions {
  /** Weight MatMuls in int8 (`OnnxSessionOptions.int8`): faster, not bit-equal to float, and a row can depend on the rows it shares a call with. */
  int8?: boolean;
}

/**
 * The decoder's onnxruntime session: `<model>/onnx/decoder.onnx` when it is not older than the
 * weights and takes `positions` (logits at the masked positions only), else an export of the
 * loaded weights made in memory; with `int8`, that graph with its weight MatMuls quantized.
 */
async function openDecoder(model: SgddModel, modelDir: string, io: CliIO, options: DecoderOptions): Promise<{ onnx: OnnxSession; from: string }> {
  const open = async (model: string | Uint8Array, from: string) => {
    const onnx = await createOnnxSession(model, { executionProviders: ['cpu'], int8: options.int8 });
    return { onnx, from: onnx.quantized ? `${from}; ${describeQuantizeReport(onnx.quantized)}` : from };
  };
  const file = decoderExportPath(modelDir);
  if (existsSync(file)) {
    if (statSync(file).mtimeMs < statSync(join(modelDir, SGDD_WEIGHTS_FILE)).mtimeMs) log(io, `engine: ${file} is older than the weights; exporting them instead`);
    else {
      try {
        const opened = await open(file, file);
        const inputs = opened.onnx.session.inputNames;
        if (inputs.includes('positions') && inputs.includes(SGDD_PASS_WEIGHTS)) return opened;
        await opened.onnx.session.release();
        log(io, `engine: ${file} predates ${inputs.includes('positions') ? 'the argmax head' : 'logits at positions'} (run \`sgdd export\` again); exporting the weights instead`);
      } catch (error) {
        log(io, `engine: ${file} cannot be used (${(error as Error).message.split('\n')[0]}); exporting the weights instead`);
      }
    }
  }
  return open(await sgddDecoderToOnnx(model), 'exported from the weights in memory');
}

/**
 * The sampler of `model` (loaded from `modelDir`; tfjs holds its weights on `tfBackend`) on the
 * chosen engine, the one way sample, eval, serve and train's evaluation open it, saying on stderr
 * which runs: onnx = the exported decoder on onnxruntime-node (both guidance passes in one run,
 * logits at masked positions only; at temperature 0 only each position's argmax and its
 * log-probability leave the graph); tfjs = the model on the tfjs backend; auto = onnx, falling
 * back to tfjs with the reason when onnxruntime cannot run it.
 */
export async function openSampler(model: SgddModel, modelDir: string, choice: EngineChoice, io: CliIO, tfBackend: string, options: DecoderOptions = {}): Promise<Sampler> {
  if (choice === 'tfjs' && options.int8) throw new CliError('--int8 quantizes the onnxruntime decoder; it needs --engine onnx or auto');
  if (choice !== 'tfjs') {
    try {
      const { onnx, from } = await openDecoder(model, modelDir, io, options);
      log(io, `engine: onnx (onnxruntime-node, ${onnx.provider} provider, ${onnx.intraOpNumThreads} threads; ${from})`);
      return samplerOn(model, onnx.session);
    } catch (error) {
      const why = (error as Error).message.split('\n')[0];
      if (choice === 'onnx') throw new CliError(`--engine onnx: onnxruntime cannot run the decoder: ${why}`);
      log(io, `engine: onnxruntime cannot run the decoder (${why}); falling back to tfjs${options.int8 ? ' (float: --int8 applies to onnxruntime only)' : ''}`);
    }
  }
  log(io, `engine: tfjs (${tfBackend} backend)`);
  return samplerOn(model, null);
}
