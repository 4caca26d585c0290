import type { GapRelmDecodeConfig } from '@proj/sampling';
import { InvalidArgumentError, type Command } from 'commander';
import { type CliIO, log } from '../cli-io';
import { decodeConfigFrom, thresholdsFor } from '../decode-config';
import { parseIntFlag } from '../flags';
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
  const config = Object.fromEntries(Object.keys(DEFAULT_SERVE_CONFIG).map((key) => [key, options[key as keyof ServeConfig]])) as unknown as ServeConfig;
  log(io, `serve: config ${JSON.stringify(config)}; decode ${JSON.stringify(options.decode)} (the rest at the defaults of @proj/sampling)`);
  const corrector = await loadCorrector(options, io);
  try {
    return await startServer(corrector, { ...config, decode: options.decode }, io);
  } catch (error) {
    await corrector.release();
    throw error;
  }
}

/** Resolves with the first of SIGINT / SIGTERM; a second one gets Node's default (exit at once). */
function nextSignal(): Promise<NodeJS.Signals> {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, on);
      resolve(signal);
    };
    for (const s of signals) process.on(s, on);
  });
}

function parsePort(value: string): number {
  const port = parseIntFlag('--port', 0)(value);
  if (port > 65535) throw new InvalidArgumentError(`--port must be an integer in [0, 65535], got "${value}"`);
  return port;
}

export function registerServe(program: Command, io: CliIO): void {
  const d = DEFAULT_SERVE_CONFIG;
  const command = program
    .command('serve')
    .description('Serve a trained Gap-ReLM model over HTTP/JSON (POST /v1/correct, GET /healthz, GET /metrics), micro-batching concurrent requests')
    .requiredOption('--model <dir>', 'a model directory written by `gap-relm train` (e.g. runs/gap-relm/final)')
    .option('--host <host>', 'address to listen on', d.host)
    .option('--port <n>', 'port to listen on (0 = any free port)', parsePort, d.port)
    .option('--max-batch-texts <n>', 'most texts per model call, gathered from concurrent requests (1 = no micro-batching)', parseIntFlag('--max-batch-texts', 1), d.maxBatchTexts)
    .option('--max-wait-ms <n>', 'how long the first queued text waits for others before its batch runs', parseIntFlag('--max-wait-ms', 0), d.maxWaitMs)
    .option('--max-batch-chars <n>', 'most characters per model call (long texts go in smaller batches; a batch holds at least one text)', parseIntFlag('--max-batch-chars', 1), d.maxBatchChars)
    .option('--max-body-bytes <n>', 'largest request body (413 body_too_large)', parseIntFlag('--max-body-bytes', 1), d.maxBodyBytes)
    .option('--max-texts <n>', 'most texts per request (422 too_many_texts)', parseIntFlag('--max-texts', 1), d.maxTexts)
    .option('--max-chars <n>', 'most characters (code points) per text (422 text_too_long)', parseIntFlag('--max-chars', 1), d.maxChars)
    .option('--shutdown-grace-ms <n>', 'on SIGINT / SIGTERM, cut the requests and connections still open this long after it', parseIntFlag('--shutdown-grace-ms', 0), d.shutdownGraceMs)
    .option('--headers-timeout-ms <n>', 'a client must send its request headers within this (408, JSON body)', parseIntFlag('--headers-timeout-ms', 1), d.headersTimeoutMs)
    .option('--request-timeout-ms <n>', 'a client must send its whole request within this (408, JSON body)', parseIntFlag('--request-timeout-ms', 1), d.requestTimeoutMs)
    .option('--keep-alive-timeout-ms <n>', 'an idle kept-alive connection is closed after this', parseIntFlag('--keep-alive-timeout-ms', 1), d.keepAliveTimeoutMs)
    .option('--max-connections <n>', 'connections open at once; more are refused at connect', parseIntFlag('--max-connections', 1), d.maxConnections);
  addCorrectorOptions(command, 'onnx');
  command.action(async (opts: Omit<ServeCommandOptions, 'decode'>, cmd: Command) => {
    const thresholds = thresholdsFor(opts.model, opts.thresholds);
    const handle = await runServe({ ...opts, thresholds, decode: await decodeConfigFrom(cmd, thresholds) }, io);
    await handle.close(await nextSignal());
  });
}
