import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MicroBatcher } from '@proj/core';
import type { Correction, GapRelmDecodeConfig } from '@proj/sampling';
import { type CliIO, CliError, log } from '../cli-io';
import type { Corrector } from '../load-corrector';
import { ApiError } from './api-error';
import { parseCorrectRequest } from './parse-request';
import { readBody } from './read-body';
import type { ServeConfig } from './serve-config';
import { type MetricsSnapshot, ServerMetrics, prometheusText } from './server-metrics';

/** Prometheus' text exposition format. */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface ServeOptions extends ServeConfig {
  /** Decoding settings of every batch (requests cannot override them). */
  decode: Partial<GapRelmDecodeConfig>;
  /** false: batches take texts first in, first out (no round-robin across requests); a benchmark baseline. */
  fairBatching?: boolean;
}

/** A running server. */
export interface ServeHandle {
  /** `http://HOST:PORT` with the port actually bound. */
  url: string;
  port: number;
  metrics(): MetricsSnapshot;
  /**
   * Graceful shutdown (also what SIGINT / SIGTERM do in `gap-relm serve`): stop accepting, answer
   * the requests in flight, close the connections, release the model. Idempotent.
   */
  close(reason?: string): Promise<void>;
}

type Route = 'correct' | 'healthz' | 'metrics';
const ROUTES: Record<string, { method: string; route: Route }> = {
  '/v1/correct': { method: 'POST', route: 'correct' },
  '/healthz': { method: 'GET', route: 'healthz' },
  '/metrics': { method: 'GET', route: 'metrics' },
};

/** Only the documented fields, in a fixed order, whatever else a Correction may carry. */
function correctionJson(c: Correction) {
  return {
    source: c.source,
    corrected: c.corrected,
    edits: c.edits.map((e) => ({ position: e.position, from: e.from, to: e.to, kind: e.kind, confidence: e.confidence })),
  };
}

/**
 * Serves `corrector` over HTTP/JSON until `close()`: POST /v1/correct, GET /healthz, GET /metrics
 * (see docs/serving.md). The texts of concurrent requests share model calls through a
 * MicroBatcher. Logs go to `io.stderr`; once listening it logs `serve: listening on <url>`.
 */
export async function startServer(corrector: Corrector, options: ServeOptions, io: CliIO): Promise<ServeHandle> {
  if (options.headersTimeoutMs > options.requestTimeoutMs) {
    throw new CliError(`serve: --headers-timeout-ms (${options.headersTimeoutMs}) must be <= --request-timeout-ms (${options.requestTimeoutMs})`);
  }
  const metrics = new ServerMetrics();
  const batcher = new MicroBatcher<string, Correction>({
    maxBatchItems: options.maxBatchTexts,
    maxWaitMs: options.maxWaitMs,
    // Per-batch work is bounded, and batches take texts round-robin across requests: a request of
    // many long texts is spread over batches instead of holding up the small ones queued behind it.
    maxBatchCost: options.maxBatchChars,
    cost: (text) => Math.max(1, text.length),
    fair: options.fairBatching ?? true,
    run: async (texts) => {
      try {
        return await corrector.correct(texts, options.decode);
      } catch (error) {
        log(io, `serve: a batch of ${texts.length} texts failed: ${(error as Error)?.stack ?? String(error)}`);
        throw error;
      }
    },
  });
  let draining = false;
  let inFlight = 0;
  const idleWaiters: (() => void)[] = [];
  const snapshot = () => metrics.snapshot(batcher.stats(), batcher.queueDepth, inFlight);

  const sendText = (res: ServerResponse, status: number, text: string, contentType: string, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    // While draining, no connection is kept alive for another request.
    if (draining) headers.connection = 'close';
    res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => sendText(res, status, JSON.stringify(body), 'application/json; charset=utf-8', headers);

  async function correct(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (draining) throw new ApiError(503, 'draining', 'the server is shutting down');
    const texts = parseCorrectRequest(await readBody(req, options.maxBodyBytes), options);
    let results: Correction[];
    try {
      results = await batcher.submit(texts);
    } catch (error) {
      throw new ApiError(500, 'model_error', `the model failed on a batch holding this request's texts: ${(error as Error)?.message ?? String(error)}`);
    }
    metrics.textsCorrected += texts.length;
    send(res, 200, { results: results.map(correctionJson) });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    inFlight++;
    // A write to a connection the client already closed must not throw out of the server.
    res.on('error', () => {});
    res.on('close', () => {
      metrics.countAnswer(res.writableFinished ? res.statusCode : 'aborted');
      if (res.writableFinished && res.statusCode === 200 && path === '/v1/correct') metrics.recordLatency(performance.now() - started);
      if (--inFlight === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    });
    try {
      const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
      if (route === undefined) throw new ApiError(404, 'not_found', `no such path: ${path}; the paths are POST /v1/correct, GET /healthz, GET /metrics`);
      if (req.method !== route.method) {
        res.setHeader('allow', route.method);
        throw new ApiError(405, 'method_not_allowed', `${path} takes ${route.method}, got ${req.method}`);
      }
      if (route.route === 'correct') await correct(req, res);
      else if (route.route === 'metrics' && /text\/plain|openmetrics/.test(req.headers.accept ?? '')) sendText(res, 200, prometheusText(snapshot()), PROMETHEUS_CONTENT_TYPE);
      else if (route.route === 'metrics') send(res, 200, snapshot());
      else if (draining) send(res, 503, { status: 'draining' });
      else send(res, 200, { status: 'ok', ...corrector.info });
    } catch (error) {
      if (error instanceof ApiError) {
        // The rest of a refused body is dropped unparsed, so the connection cannot carry another request.
        send(res, error.status, error.body(), error.code === 'body_too_large' ? { connection: 'close' } : {});
      } else {
        log(io, `serve: ${req.method} ${req.url} failed: ${(error as Error)?.stack ?? String(error)}`);
        send(res, 500, new ApiError(500, 'internal_error', 'the server failed on this request (see its log)').body());
      }
    }
  }

  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      // How often Node checks those timeouts (its default, 30 s, would let a slow client stay that long).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(options.headersTimeoutMs / 4))),
    },
    (req, res) => {
      handle(req, res).catch((error) => log(io, `serve: ${req.method} ${req.url}: ${(error as Error)?.stack ?? String(error)}`));
    },
  );
  server.maxConnections = options.maxConnections;
  // Malformed HTTP (and a request or its headers too slow to arrive) gets a JSON error like every other refusal.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (!socket.writable || (error.code === 'ECONNRESET' && !socket.readable)) {
      socket.destroy();
      return;
    }
    const timeout = error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    const api = timeout
      ? new ApiError(408, 'request_timeout', `the request did not arrive within the server's time limits (headers ${options.headersTimeoutMs} ms, request ${options.requestTimeoutMs} ms)`)
      : new ApiError(400, 'bad_http', `malformed HTTP request: ${error.code ?? error.message}`);
    const body = JSON.stringify(api.body());
    socket.end(`HTTP/1.1 ${api.status} ${timeout ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const flag = error.code === 'EADDRINUSE' || error.code === 'EACCES' ? `--port ${options.port}` : `--host ${options.host}`;
      reject(new CliError(`serve: cannot listen on ${options.host}:${options.port} (${flag}): ${error.code ?? error.message}`));
    });
    server.listen(options.port, options.host, () => resolve());
  });
  server.on('error', (error) => log(io, `serve: server error: ${error.message}`));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log(io, `serve: listening on ${url}`);

  let closing: Promise<void> | undefined;
  async function shutdown(reason: string): Promise<void> {
    // 1. Stop accepting: no new connections; requests on open ones get 503 and `connection: close`.
    draining = true;
    log(io, `serve: ${reason}: shutting down; no new connections, ${inFlight} requests in flight`);
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = setTimeout(() => {
      log(io, `serve: requests or connections still open ${options.shutdownGraceMs} ms after the shutdown began; cutting them`);
      server.closeAllConnections();
    }, options.shutdownGraceMs);
    // 2. Answer the requests in flight (their batches run as usual), then let the batcher finish.
    if (inFlight > 0) await new Promise<void>((resolve) => idleWaiters.push(resolve));
    await batcher.close();
    log(io, 'serve: requests in flight answered');
    // 3. Wait for the connections to close (each closes after its last answer). The grace timer
    //    bounds steps 2 and 3 (a client that never finishes its body must not hold the shutdown).
    await serverClosed;
    clearTimeout(grace);
    log(io, 'serve: connections closed');
    // 4. Release the model.
    await corrector.release();
    log(io, 'serve: model released; stopped');
  }

  return {
    url,
    port,
    metrics: snapshot,
    close: (reason = 'close()') => (closing ??= shutdown(reason)),
  };
}
