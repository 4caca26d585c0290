import type { ServerResponse } from 'node:http';
import {
  ApiError,
  DEFAULT_HTTP_SERVER_CONFIG,
  MicroBatcher,
  Rng,
  ServerMetrics,
  addHttpServerOptions,
  logBatchFailures,
  nextSignal,
  parseJsonObject,
  pickConfig,
  startJsonServer,
  submitToModel,
  type HttpServerConfig,
  type JsonServer,
  type MetricsSpec,
  type RouteContext,
} from '@proj/core';
import type { BackendChoice } from '@proj/models';
import { generate } from '@proj/sampling';
import type { Command } from 'commander';
import { bundled } from '../bundled-data';
import { type CliIO, CliError, log } from '../cli-io';
import type { EngineChoice } from '../engine';
import { numberFlag, usageError } from '../flags';
import { addEngineOptions, loadModelAndTokenizer } from './generate';
import { generateRows, type GenerationJob, type GenerationResult } from './serve-batch';
import { parseCompletionRequest, type CompletionRequest } from './serve-request';

/** The server's settings; each is a flag of `mateconv serve` (the same name in kebab case). */
export interface ServeConfig extends HttpServerConfig {
  maxBatchRows: number;
  maxWaitMs: number;
  maxQueue: number;
  contextLength: number;
  defaultMaxTokens: number;
  maxPrompts: number;
  seed: number;
}

export const DEFAULT_SERVE_CONFIG: Readonly<ServeConfig> = Object.freeze({
  ...DEFAULT_HTTP_SERVER_CONFIG, // host, port, body limit, timeouts, connection cap (@proj/core)
  maxBatchRows: 8, // prompts generated together (onnx engine); the tfjs engine takes one at a time
  maxWaitMs: 5, // how long the oldest queued prompt waits for company before its batch starts
  maxQueue: 64, // prompts waiting for a batch; a request that would pass it gets 429 queue_full
  contextLength: 512, // prompt + max_tokens per row (422 beyond); capped by the model's max_position_embeddings; `mateconv export`'s default --max-length
  defaultMaxTokens: 64, // max_tokens of a request without one (less when the prompt leaves less room)
  maxPrompts: 16, // prompts in one /v1/completions request
  seed: 42, // seeds the seeds of sampled requests that bring none
});

export interface ServeCommandOptions extends ServeConfig {
  model: string;
  tokenizer: string;
  engine: EngineChoice;
  /** The onnxruntime model's weight MatMuls in int8 (--int8). */
  int8?: boolean;
  backend: BackendChoice;
  /** The id /v1/models lists and answers carry; default: the --model path. */
  modelName?: string;
}

/** `/metrics` of mateconv serve. */
export const MATECONV_METRICS = {
  prefix: 'mateconv',
  item: 'Prompts',
  work: 'generated',
  counters: {
    promptTokens: { name: 'prompt_tokens_total', help: 'Prompt tokens of 200 answers.' },
    completionTokens: { name: 'completion_tokens_total', help: 'Generated tokens of 200 answers.' },
  },
  latencies: {
    latencyMs: { name: 'request_latency_ms', help: 'Milliseconds from request to the end of 200 completions answers' },
    timeToFirstTokenMs: { name: 'time_to_first_token_ms', help: 'Milliseconds from request to the first generated token' },
    perTokenMs: { name: 'per_token_ms', help: 'Milliseconds per generated token after the first, per request' },
  },
} satisfies MetricsSpec<'promptTokens' | 'completionTokens', 'latencyMs' | 'timeToFirstTokenMs' | 'perTokenMs'>;

export type MateconvServer = JsonServer<keyof typeof MATECONV_METRICS.counters, keyof typeof MATECONV_METRICS.latencies>;

const sse = (res: ServerResponse, data: unknown) => res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);

/**
 * Loads the model on its engine and serves it OpenAI-style until `close()`: POST /v1/completions
 * and /v1/chat/completions (JSON, or server-sent events with `stream: true`), GET /v1/models,
 * /health, /metrics. On onnxruntime concurrent prompts share batches (left-padded, KV cache);
 * tfjs takes one prompt at a time. Resolves once it listens.
 */
export async function runServe(options: ServeCommandOptions, io: CliIO): Promise<MateconvServer> {
  log(io, `serve: config ${JSON.stringify(pickConfig(DEFAULT_SERVE_CONFIG, options))}`);
  const { model, tokenizer, engine, close } = await loadModelAndTokenizer(options, io);
  try {
    const context = Math.min(options.contextLength, model.config.max_position_embeddings);
    const bos = tokenizer.special.bos?.id;
    // Warm-up, and a check that the engine takes `context` positions (an export may take fewer).
    try {
      await engine.withSource((source) => generate([new Array<number>(context).fill(bos ?? 0)], source, { maxNewTokens: 1 }));
    } catch (error) {
      throw new CliError(`--context-length: the model cannot take ${context} positions on ${engine.name} (${(error as Error).message.split('\n')[0]}); give a smaller --context-length (at most the export's --max-length)`);
    }
    const batchRows = engine.name === 'onnx' ? options.maxBatchRows : 1;
    log(io, `serve: engine ${engine.name}: ${batchRows > 1 ? `concurrent prompts share batches of up to ${batchRows} (left-padded, KV cache)` : 'one prompt at a time'}, at most ${options.maxQueue} queued; context ${context} tokens`);
    return await startServer({ ...options, context, batchRows }, { tokenizer, engine, close }, io);
  } catch (error) {
    await close();
    throw error;
  }
}

type Loaded = Omit<Awaited<ReturnType<typeof loadModelAndTokenizer>>, 'model'>;

async function startServer(options: ServeCommandOptions & { context: number; batchRows: number }, loaded: Loaded, io: CliIO): Promise<MateconvServer> {
  const { tokenizer, engine } = loaded;
  const modelId = options.modelName ?? options.model;
  const createdAt = Math.floor(Date.now() / 1000);
  const serverRng = new Rng(options.seed);
  const settings = { defaultMaxTokens: options.defaultMaxTokens, contextLength: options.context, maxPrompts: options.maxPrompts };
  const bos = tokenizer.special.bos?.id;
  const metrics = new ServerMetrics(MATECONV_METRICS);
  let requests = 0;
  const batcher = new MicroBatcher<GenerationJob, GenerationResult>({
    maxBatchItems: options.batchRows,
    maxWaitMs: options.maxWaitMs,
    run: logBatchFailures(io, 'prompts', (jobs) => engine.withSource((source) => generateRows(jobs, source, tokenizer))),
  });

  /** Prompt ids per row: BOS + the prompt (as pretraining wraps documents), or the rendered chat. */
  async function promptIds(r: CompletionRequest): Promise<number[][]> {
    if (r.messages) {
      if (!tokenizer.chatTemplate) throw new ApiError(400, 'chat_unsupported', `the tokenizer (${options.tokenizer}) has no chat template; use /v1/completions`);
      return [await tokenizer.encodeChat(r.messages, { addGenerationPrompt: true })];
    }
    const encoded = await tokenizer.encodeBatch(r.prompts!, { addSpecialTokens: false });
    return encoded.map((ids, i) => {
      if (bos === undefined && ids.length === 0) throw new ApiError(400, 'invalid_request', `prompt[${i}] is empty and the tokenizer has no BOS token to start from`);
      return bos === undefined ? ids : [bos, ...ids];
    });
  }

  async function complete(chat: boolean, res: ServerResponse, ctx: RouteContext): Promise<void> {
    const started = performance.now();
    const body = parseJsonObject(await ctx.body(), chat ? '{"messages": [...]}' : '{"prompt": "..."}');
    const r = parseCompletionRequest(body, chat, settings, serverRng);
    const rows = await promptIds(r);
    const maxTokens = rows.map((ids) => {
      const wanted = r.maxTokens ?? Math.min(options.defaultMaxTokens, options.context - ids.length);
      if (ids.length + Math.max(1, wanted) > options.context) {
        throw new ApiError(422, 'context_length_exceeded', `the prompt has ${ids.length} tokens and max_tokens is ${wanted}; together they may be at most ${options.context} (--context-length)`, { limit: options.context, value: ids.length + Math.max(1, wanted) });
      }
      return wanted;
    });
    if (batcher.queueDepth + rows.length > options.maxQueue) {
      throw new ApiError(429, 'queue_full', `${batcher.queueDepth} prompts are waiting; the queue holds ${options.maxQueue} (--max-queue); retry later`, { limit: options.maxQueue, value: batcher.queueDepth + rows.length });
    }
    const id = `${chat ? 'chatcmpl' : 'cmpl'}-${++requests}`;
    const created = Math.floor(Date.now() / 1000);
    const object = chat ? 'chat.completion' : 'text_completion';
    let gone = false;
    res.on('close', () => (gone = !res.writableFinished));
    const chunk = (index: number, text: string, finish: string | null) => ({
      id,
      object: chat ? 'chat.completion.chunk' : 'text_completion',
      created,
      model: modelId,
      choices: [chat ? { index, delta: finish === null ? { content: text } : {}, finish_reason: finish } : { index, text, finish_reason: finish, logprobs: null }],
    });
    if (r.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.flushHeaders();
      if (chat) sse(res, { ...chunk(0, '', null), choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
    }
    const jobs: GenerationJob[] = rows.map((ids, i) => ({
      ids,
      sampling: { ...r.sampling, maxTokens: maxTokens[i] },
      onText: r.stream ? (delta) => sse(res, chunk(i, delta, null)) : undefined,
      cancelled: () => gone,
    }));
    let results: GenerationResult[];
    try {
      results = await submitToModel(batcher, jobs, 'prompts');
    } catch (error) {
      // A stream has answered 200 already: the error goes in the stream.
      if (!r.stream || !(error instanceof ApiError)) throw error;
      sse(res, error.body());
      sse(res, '[DONE]');
      res.end();
      return;
    }
    const usage = { prompt_tokens: rows.reduce((n, ids) => n + ids.length, 0), completion_tokens: results.reduce((n, x) => n + x.completionTokens, 0), total_tokens: 0 };
    usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
    const first = Math.min(...results.map((x) => x.firstTokenAt ?? Infinity));
    if (first < Infinity) metrics.record('timeToFirstTokenMs', first - started);
    // Per token after the first, the mean over the request's rows that have more than one.
    const perToken = results.filter((x) => x.completionTokens > 1).map((x) => (x.lastTokenAt! - x.firstTokenAt!) / (x.completionTokens - 1));
    if (perToken.length > 0) metrics.record('perTokenMs', perToken.reduce((a, b) => a + b, 0) / perToken.length);
    if (gone) return;
    metrics.add('promptTokens', usage.prompt_tokens);
    metrics.add('completionTokens', usage.completion_tokens);
    if (r.stream) {
      results.forEach((x, i) => sse(res, chunk(i, '', x.finishReason)));
      if (r.includeUsage) sse(res, { ...chunk(0, '', null), choices: [], usage });
      sse(res, '[DONE]');
      res.end();
      return;
    }
    const choices = results.map((x, index) =>
      chat ? { index, message: { role: 'assistant', content: x.text }, finish_reason: x.finishReason } : { index, text: x.text, finish_reason: x.finishReason, logprobs: null },
    );
    ctx.send(200, { id, object, created, model: modelId, choices, usage });
  }

  return startJsonServer(
    {
      ...options,
      routes: {
        '/v1/completions': { method: 'POST', latency: 'latencyMs', handle: (_req, res, ctx) => complete(false, res, ctx) },
        '/v1/chat/completions': { method: 'POST', latency: 'latencyMs', handle: (_req, res, ctx) => complete(true, res, ctx) },
        '/v1/models': {
          method: 'GET',
          handle: async (_req, _res, ctx) => ctx.send(200, { object: 'list', data: [{ id: modelId, object: 'model', created: createdAt, owned_by: 'mateconv' }] }),
        },
      },
      healthPaths: ['/health', '/healthz'],
      health: () => ({ model: modelId, engine: engine.name, context_length: options.context, max_batch_rows: options.batchRows }),
      metrics,
      batcher,
      release: loaded.close,
    },
    io,
  );
}

export function registerServe(program: Command, io: CliIO): void {
  const d = DEFAULT_SERVE_CONFIG;
  const command = addEngineOptions(program.command('serve'))
    .description('Serve a model OpenAI-style over HTTP: POST /v1/completions and /v1/chat/completions (stream: true for server-sent events), GET /v1/models, /health, /metrics')
    .requiredOption('--model <dir>', 'a model directory: pretrain final/ or a checkpoint (its onnx/model.onnx is used when present)')
    .option('--tokenizer <dir>', 'directory with tokenizer.json and tokenizer_config.json (chat template)', bundled.tokenizer)
    .option('--model-name <id>', 'the model id /v1/models lists (default: the --model path)')
    .option('--max-batch-rows <n>', 'prompts generated together on the onnx engine (1 = one at a time)', numberFlag('--max-batch-rows', { integer: true, min: 1 }), d.maxBatchRows)
    .option('--max-wait-ms <n>', 'how long the first queued prompt waits for others before its batch starts', numberFlag('--max-wait-ms', { integer: true, min: 0 }), d.maxWaitMs)
    .option('--max-queue <n>', 'prompts waiting for a batch; more are refused (429 queue_full)', numberFlag('--max-queue', { integer: true, min: 1 }), d.maxQueue)
    .option('--context-length <n>', 'prompt + max_tokens per prompt (422 beyond); capped by the model', numberFlag('--context-length', { integer: true, min: 2 }), d.contextLength)
    .option('--default-max-tokens <n>', 'max_tokens of a request without one', numberFlag('--default-max-tokens', { integer: true, min: 1 }), d.defaultMaxTokens)
    .option('--max-prompts <n>', 'prompts in one /v1/completions request (422 too_many_prompts)', numberFlag('--max-prompts', { integer: true, min: 1 }), d.maxPrompts)
    .option('--seed <n>', 'seeds the seeds of sampled requests without "seed"', numberFlag('--seed', { integer: true, min: 0 }), d.seed);
  addHttpServerOptions(command, usageError, d);
  command.action(async (opts: ServeCommandOptions) => {
    const server = await runServe(opts, io);
    await server.close(await nextSignal());
  });
}
