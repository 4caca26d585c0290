import { addHttpServerOptions, nextSignal, pickConfig } from '@proj/core';
import type { GapRelmDecodeConfig } from '@proj/sampling';
import type { Command } from 'commander';
import { type CliIO, log } from '../cli-io';
import { decodeConfigFrom, thresholdsFor } from '../decode-config';
import { numberFlag, usageError } from '../flags';
import { type CorrectorOptions, addCorrectorOptions, loadCorrector } from '../load-corrector';
import { DEFAULT_SERVE_CONFIG, type ServeConfig } from '../serve/serve-config';
import { type ServeHandle, startServer } from '../serve/server';

/** `engine` defaults to onnx here. */
export interface ServeCommandOptions extends CorrectorOptions, ServeConfig {
  thresholds?: string;
  /** Decoding settings (see decodeConfigFrom: defaults, then --thresholds, then typed flags). */
  decode: Partial<GapRelmDecodeConfig>;
}

/** Loads the model and starts the server; resolves once it listens (see docs/serving.md). */
export async function runServe(options: ServeCommandOptions, io: CliIO): Promise<ServeHandle> {
  const config = pickConfig(DEFAULT_SERVE_CONFIG, options);
  log(io, `serve: config ${JSON.stringify(config)}; decode ${JSON.stringify(options.decode)} (the rest at the defaults of @proj/sampling)`);
  const corrector = await loadCorrector(options, io);
  try {
    return await startServer(corrector, { ...config, decode: options.decode }, io);
  } catch (error) {
    await corrector.release();
    throw error;
  }
}

export function registerServe(program: Command, io: CliIO): void {
  const d = DEFAULT_SERVE_CONFIG;
  const command = program
    .command('serve')
    .description('Serve a trained Gap-ReLM model over HTTP/JSON (POST /v1/correct, GET /healthz, GET /metrics), micro-batching concurrent requests')
    .requiredOption('--model <dir>', 'a model directory written by `gap-relm train` (e.g. runs/gap-relm/final)')
    .option('--max-batch-texts <n>', 'most texts per model call, gathered from concurrent requests (1 = no micro-batching)', numberFlag('--max-batch-texts', { integer: true, min: 1 }), d.maxBatchTexts)
    .option('--max-wait-ms <n>', 'how long the first queued text waits for others before its batch runs', numberFlag('--max-wait-ms', { integer: true, min: 0 }), d.maxWaitMs)
    .option('--max-batch-chars <n>', 'most characters per model call (long texts go in smaller batches; a batch holds at least one text)', numberFlag('--max-batch-chars', { integer: true, min: 1 }), d.maxBatchChars)
    .option('--max-texts <n>', 'most texts per request (422 too_many_texts)', numberFlag('--max-texts', { integer: true, min: 1 }), d.maxTexts)
    .option('--max-chars <n>', 'most characters (code points) per text (422 text_too_long)', numberFlag('--max-chars', { integer: true, min: 1 }), d.maxChars);
  addHttpServerOptions(command, usageError, d);
  addCorrectorOptions(command, 'onnx');
  command.action(async (opts: Omit<ServeCommandOptions, 'decode'>, cmd: Command) => {
    const thresholds = thresholdsFor(opts.model, opts.thresholds);
    const handle = await runServe({ ...opts, thresholds, decode: await decodeConfigFrom(cmd, thresholds) }, io);
    await handle.close(await nextSignal());
  });
}
