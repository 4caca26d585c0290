import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { SGDD_WEIGHTS_FILE, createOnnxSession, sgddDecoderToOnnx, type OnnxSession, type SgddModel } from '@proj/models';
import { CliError, log, type CliIO } from './cli-io';
import { samplerOn, type Sampler } from './evaluate';

/** Where the decoder runs while sampling: onnxruntime, tfjs, or auto (onnxruntime when it can). */
export type EngineChoice = 'auto' | 'onnx' | 'tfjs';
export const ENGINE_CHOICES: readonly EngineChoice[] = ['auto', 'onnx', 'tfjs'];

/** The decoder `sgdd export` writes beside a model. */
export const decoderExportPath = (modelDir: string) => join(modelDir, 'onnx', 'decoder.onnx');

/**
 * The decoder's onnxruntime session: `<model>/onnx/decoder.onnx` when it is not older than the
 * weights and takes `positions` (logits at the masked positions only), else an export of the
 * loaded weights made in memory.
 */
async function openDecoder(model: SgddModel, modelDir: string, io: CliIO): Promise<{ onnx: OnnxSession; from: string }> {
  const file = decoderExportPath(modelDir);
  if (existsSync(file)) {
    if (statSync(file).mtimeMs < statSync(join(modelDir, SGDD_WEIGHTS_FILE)).mtimeMs) log(io, `engine: ${file} is older than the weights; exporting them instead`);
    else {
      try {
        const onnx = await createOnnxSession(file, { executionProviders: ['cpu'] });
        if (onnx.session.inputNames.includes('positions')) return { onnx, from: file };
        await onnx.session.release();
        log(io, `engine: ${file} predates logits at positions (run \`sgdd export\` again); exporting the weights instead`);
      } catch (error) {
        log(io, `engine: ${file} cannot be used (${(error as Error).message.split('\n')[0]}); exporting the weights instead`);
      }
    }
  }
  return { onnx: await createOnnxSession(await sgddDecoderToOnnx(model), { executionProviders: ['cpu'] }), from: 'exported from the weights in memory' };
}

/**
 * The sampler of `model` (loaded from `modelDir`; tfjs holds its weights on `tfBackend`) on the
 * chosen engine, saying on stderr which runs: onnx = the exported decoder on onnxruntime-node
 * (both guidance passes in one run, logits at masked positions only); tfjs = the model on the
 * tfjs backend; auto = onnx, falling back to tfjs with the reason when onnxruntime cannot run it.
 */
export async function openSampler(model: SgddModel, modelDir: string, choice: EngineChoice, io: CliIO, tfBackend: string): Promise<Sampler> {
  if (choice !== 'tfjs') {
    try {
      const { onnx, from } = await openDecoder(model, modelDir, io);
      log(io, `engine: onnx (onnxruntime-node, ${onnx.provider} provider, ${onnx.intraOpNumThreads} threads; ${from})`);
      return samplerOn(model, onnx.session);
    } catch (error) {
      const why = (error as Error).message.split('\n')[0];
      if (choice === 'onnx') throw new CliError(`--engine onnx: onnxruntime cannot run the decoder: ${why}`);
      log(io, `engine: onnxruntime cannot run the decoder (${why}); falling back to tfjs`);
    }
  }
  log(io, `engine: tfjs (${tfBackend} backend)`);
  return samplerOn(model, null);
}
