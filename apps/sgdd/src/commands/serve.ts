import {
  ApiError,
  DEFAULT_HTTP_SERVER_CONFIG,
  JsonFields,
  MicroBatcher,
  ServerMetrics,
  SkipCounter,
  addHttpServerOptions,
  logBatchFailures,
  nextSignal,
  parseJsonObject,
  pickConfig,
  startJsonServer,
  submitToModel,
  textsField,
  type HttpServerConfig,
  type JsonRoute,
  type JsonServer,
  type MetricsSpec,
  type Rng,
} from '@proj/core';
import type { Command } from 'commander';
import { type CliIO, log } from '../cli-io';
import { tokenizeBounded } from '../data';
import { openSampler, rowStreams } from '../engine';
import { idsToText } from '../evaluate';
import { numberFlag, usageError } from '../flags';
import { loadModel } from '../load-model';
import { addSamplingOptions, type SamplingFlags } from './sample';

/** The server's settings; each is a flag of `sgdd serve` (the same name in kebab case). */
export interface ServeConfig extends HttpServerConfig {
  maxWaitMs: number;
  maxTexts: number;
  maxChars: number;
}

export const DEFAULT_SERVE_CONFIG: Readonly<ServeConfig> = Object.freeze({
  ...DEFAULT_HTTP_SERVER_CONFIG, // host, port, body limit, timeouts, connection cap (@proj/core)
  maxWaitMs: 5, // how long the oldest queued text waits for company before its batch runs
  maxTexts: 64, // texts per request (422)
  maxChars: 512, // code points per text (422); longer token sequences than the model's are truncated
});

/** `--batch-size` (texts per decoder call) and the request defaults `--steps` ... come from `sgdd sample`'s flags. */
export interface ServeCommandOptions extends ServeConfig, SamplingFlags {
  model: string;
}

export const SGDD_METRICS = {
  prefix: 'sgdd',
  item: 'Texts',
  work: 'sampled',
  counters: { textsSampled: { name: 'texts_sampled_total', help: 'Texts in 200 answers of /v1/sample and /v1/paraphrase.' } },
  latencies: { latencyMs: { name: 'request_latency_ms', help: 'Milliseconds from request to answer of 200 /v1/sample and /v1/paraphrase answers' } },
} satisfies MetricsSpec<'textsSampled', 'latencyMs'>;

export type SgddServer = JsonServer<'textsSampled', 'latencyMs'>;

/** One text of a request, as the batcher queues it. */
interface SampleItem {
  ids: Int32Array;
  /** Decoding settings; items with equal settings share a decoder call. */
  steps: number;
  guidance: number;
  temperature: number;
  /** The text's own stream, from its request's seed and its index in the request (`rowStreams`). */
  rng: Rng;
}

/**
 * Loads a trained model and serves it over HTTP/JSON until `close()`: POST /v1/sample (and the
 * same at /v1/paraphrase) `{"text" | "texts", "steps", "guidance", "temperature", "seed"}` →
 * `{"results": [{source, output, truncated}]}`, GET /healthz, GET /metrics. The texts of concurrent
 * requests share encoder and decoder calls (up to `--batch-size`); each row samples from its own
 * seeded stream, so an answer does not depend on the batch it ran in and equals `sgdd sample`'s for
 * the same texts and seed (up to `--batch-size` texts: sample seeds each further batch anew).
 * Resolves once it listens.
 */
export async function runServe(o: ServeCommandOptions, io: CliIO): Promise<SgddServer> {
  log(io, `serve: config ${JSON.stringify(pickConfig(DEFAULT_SERVE_CONFIG, o))}; request defaults steps ${o.steps}, guidance ${o.guidance}, temperature ${o.temperature}, seed ${o.seed}`);
  const m = await loadModel(o.model, '--model', o.engine, o.backend, io);
  const sampler = await openSampler(m.model, o.model, o.engine, io, m.backend, { int8: o.int8 }).catch(async (error: unknown) => {
    await m.dispose();
    throw error;
  });
  const release = async () => {
    await sampler.release();
    await m.dispose();
  };
  log(io, `serve: texts of concurrent requests share calls of up to ${o.batchSize}`);
  const maxLength = m.model.config.max_length;
  const metrics = new ServerMetrics(SGDD_METRICS);

  /** One batch: vectors from the encoder in one call, then one decoder run per distinct setting. */
  async function run(items: SampleItem[]): Promise<string[]> {
    const vectors = await m.encoder.encode(items.map((x) => x.ids));
    const outputs = new Array<string>(items.length);
    const groups = new Map<string, number[]>();
    items.forEach((x, i) => {
      const key = `${x.steps}/${x.guidance}/${x.temperature}`;
      groups.set(key, [...(groups.get(key) ?? []), i]);
    });
    for (const rows of groups.values()) {
      const { steps, guidance, temperature } = items[rows[0]];
      const tokens = await sampler.sample(rows.map((i) => vectors[i]), rows.map((i) => items[i].ids.length), { steps, guidance, temperature, rng: rows.map((i) => items[i].rng) });
      rows.forEach((i, k) => (outputs[i] = idsToText(m.tokenizer, tokens[k])));
    }
    return outputs;
  }
  const batcher = new MicroBatcher<SampleItem, string>({
    maxBatchItems: o.batchSize,
    maxWaitMs: o.maxWaitMs,
    run: logBatchFailures(io, 'texts', run),
  });

  const route: JsonRoute<'latencyMs'> = {
    method: 'POST',
    latency: 'latencyMs',
    async handle(_req, _res, ctx) {
      const body = parseJsonObject(await ctx.body(), '{"text": "..."} or {"texts": [...]}');
      const f = new JsonFields(body);
      const text = f.string('text');
      if (text !== undefined && f.has('texts')) throw new ApiError(400, 'invalid_request', 'give "text" or "texts", not both');
      const texts = textsField(text !== undefined ? { texts: [text] } : body, o);
      const settings = {
        steps: f.number('steps', { integer: true, min: 1, max: 1000 }) ?? o.steps,
        guidance: f.number('guidance', { min: 0, max: 100 }) ?? o.guidance,
        temperature: f.number('temperature', { min: 0, max: 100 }) ?? o.temperature,
        seed: f.number('seed', { integer: true }) ?? o.seed,
      };
      const truncated = texts.map(() => new SkipCounter());
      const streams = rowStreams(settings.seed, texts.length);
      const items = texts.map((t, index) => ({ ids: tokenizeBounded(m.tokenizer, t, maxLength, `texts[${index}]`, { refuse: false, truncated: truncated[index] }), ...settings, rng: streams[index] }));
      const outputs = await submitToModel(batcher, items, 'texts');
      metrics.add('textsSampled', texts.length);
      ctx.send(200, { results: texts.map((source, i) => ({ source, output: outputs[i], truncated: truncated[i].count > 0 })), ...settings });
    },
  };
  try {
    return await startJsonServer({ ...o, routes: { '/v1/sample': route, '/v1/paraphrase': route }, health: () => ({ model: o.model, engine: sampler.engine, phase: m.app.phase }), metrics, batcher, release }, io);
  } catch (error) {
    await release();
    throw error;
  }
}

export function registerServe(program: Command, io: CliIO): void {
  const d = DEFAULT_SERVE_CONFIG;
  const command = program
    .command('serve')
    .description('Serve a trained model over HTTP/JSON: POST /v1/sample and /v1/paraphrase ({"text" | "texts", "steps", "guidance", "temperature", "seed"}), GET /healthz, GET /metrics; concurrent requests share model calls')
    .requiredOption('--model <dir>', 'a trained model directory (<run>/best or <run>/final)')
    .option('--max-wait-ms <n>', 'how long the first queued text waits for others before its batch runs', numberFlag('--max-wait-ms', { integer: true, min: 0 }), d.maxWaitMs)
    .option('--max-texts <n>', 'most texts per request (422 too_many_texts)', numberFlag('--max-texts', { integer: true, min: 1 }), d.maxTexts)
    .option('--max-chars <n>', 'most characters (code points) per text (422 text_too_long)', numberFlag('--max-chars', { integer: true, min: 1 }), d.maxChars);
  addSamplingOptions(command);
  addHttpServerOptions(command, usageError, d);
  command.action(async (opts: ServeCommandOptions) => {
    const server = await runServe(opts, io);
    await server.close(await nextSignal());
  });
}
