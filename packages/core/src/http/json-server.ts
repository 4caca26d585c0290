import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CliIO, CliError, log } from '../cli-io';
import type { MicroBatcher, MicroBatcherStats } from '../micro-batcher';
import { ApiError } from './api-error';
import { readBody } from './read-body';
import type { HttpServerConfig } from './server-config';
import { type MetricsSnapshot, type ServerMetrics, prometheusText } from './server-metrics';

/** Prometheus' text exposition format. */
const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** What a route handler gets besides the request and response. */
export interface RouteContext {
  /** The request body, refused past `--max-body-bytes` (413). */
  body(): Promise<Buffer>;
  /** Sends a JSON answer (nothing if the answer has started or the client has gone). */
  send(status: number, body: unknown): void;
}

/**
 * One path of an app. The handler answers through `ctx.send`, or writes `res` itself (a stream);
 * an `ApiError` it throws becomes the JSON error answer, anything else a logged 500.
 */
export interface JsonRoute<L extends string = string> {
  method: 'GET' | 'POST';
  /** The latency summary that times this route's 200 answers (request to the end of the answer). */
  latency?: L;
  handle(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): Promise<void>;
}

/** The batcher of the app's model calls, for `/metrics` and shutdown. */
export interface BatcherView {
  stats(): MicroBatcherStats;
  readonly queueDepth: number;
  /** Refuses new work; resolves when the queued work has run. */
  close(): Promise<void>;
}

export interface JsonServerOptions<C extends string, L extends string> extends HttpServerConfig {
  /** The app's paths (`/v1/correct`); `/metrics` and the health paths are the server's. */
  routes: Record<string, JsonRoute<L>>;
  /** Paths answering GET with `health()` (503 `{"status": "draining"}` during shutdown). Default `['/healthz']`. */
  healthPaths?: string[];
  health(): Record<string, unknown>;
  metrics: ServerMetrics<C, L>;
  batcher: BatcherView;
  /** Releases the model, last step of the shutdown. */
  release(): Promise<void>;
}

/** A running server. */
export interface JsonServer<C extends string = string, L extends string = string> {
  /** `http://HOST:PORT` with the port actually bound. */
  url: string;
  port: number;
  metrics(): MetricsSnapshot<C, L>;
  /** True once shutdown began (routes refuse new work with 503 draining). */
  readonly draining: boolean;
  /**
   * Graceful shutdown (what SIGINT / SIGTERM do in the serve commands): stop accepting, answer
   * the requests in flight, close the connections, release the model. Idempotent.
   */
  close(reason?: string): Promise<void>;
}

/** A MicroBatcher `run` that logs a failing batch with its stack (the answers say only model_error) before rejecting. */
export function logBatchFailures<In, Out>(io: CliIO, noun: string, run: (batch: In[]) => Promise<Out[]>): (batch: In[]) => Promise<Out[]> {
  return async (batch) => {
    try {
      return await run(batch);
    } catch (error) {
      log(io, `serve: a batch of ${batch.length} ${noun} failed: ${(error as Error)?.stack ?? String(error)}`);
      throw error;
    }
  };
}

/** `batcher.submit(items)` for a request; a failed model call becomes 500 model_error naming what the request's `noun` are. */
export async function submitToModel<In, Out>(batcher: MicroBatcher<In, Out>, items: readonly In[], noun: string): Promise<Out[]> {
  try {
    return await batcher.submit(items);
  } catch (error) {
    throw new ApiError(500, 'model_error', `the model failed on a batch holding this request's ${noun}: ${(error as Error)?.message ?? String(error)}`);
  }
}

/**
 * Serves an app's JSON routes over `node:http` until `close()`, with what every serve command
 * shares: GET /metrics (JSON, or Prometheus text for a scraper) and health, 404 / 405 / 413 / 408 /
 * 400 refusals as `{"error": {...}}`, Node's slow-client timeouts and a connection cap, in-flight
 * and per-status counts, and a graceful shutdown. Logs go to `io.stderr`; once listening it logs
 * `serve: listening on <url>`.
 */
export async function startJsonServer<C extends string, L extends string>(options: JsonServerOptions<C, L>, io: CliIO): Promise<JsonServer<C, L>> {
  if (options.headersTimeoutMs > options.requestTimeoutMs) {
    throw new CliError(`serve: --headers-timeout-ms (${options.headersTimeoutMs}) must be <= --request-timeout-ms (${options.requestTimeoutMs})`);
  }
  const { metrics, batcher } = options;
  const healthPaths = options.healthPaths ?? ['/healthz'];
  let draining = false;
  let inFlight = 0;
  const idleWaiters: (() => void)[] = [];
  const snapshot = () => metrics.snapshot(batcher.stats(), batcher.queueDepth, inFlight);
  const paths = [...Object.entries(options.routes).map(([path, r]) => `${r.method} ${path}`), ...healthPaths.map((p) => `GET ${p}`), 'GET /metrics'].join(', ');

  const sendText = (res: ServerResponse, status: number, text: string, contentType: string, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return;
    // While draining, no connection is kept alive for another request.
    if (draining) headers.connection = 'close';
    res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };
  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => sendText(res, status, JSON.stringify(body), JSON_CONTENT_TYPE, headers);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const route = Object.hasOwn(options.routes, path) ? options.routes[path] : undefined;
    inFlight++;
    // A write to a connection the client already closed must not throw out of the server.
    res.on('error', () => {});
    res.on('close', () => {
      metrics.countAnswer(res.writableFinished ? res.statusCode : 'aborted');
      if (res.writableFinished && res.statusCode === 200 && route?.latency !== undefined) metrics.record(route.latency, performance.now() - started);
      if (--inFlight === 0) for (const resolve of idleWaiters.splice(0)) resolve();
    });
    try {
      const method = route?.method ?? (path === '/metrics' || healthPaths.includes(path) ? 'GET' : undefined);
      if (method === undefined) throw new ApiError(404, 'not_found', `no such path: ${path}; the paths are ${paths}`);
      if (req.method !== method) {
        res.setHeader('allow', method);
        throw new ApiError(405, 'method_not_allowed', `${path} takes ${method}, got ${req.method}`);
      }
      if (route !== undefined) {
        if (draining) throw new ApiError(503, 'draining', 'the server is shutting down');
        await route.handle(req, res, { body: () => readBody(req, options.maxBodyBytes), send: (status, body) => send(res, status, body) });
      } else if (path === '/metrics' && /text\/plain|openmetrics/.test(req.headers.accept ?? '')) sendText(res, 200, prometheusText(snapshot(), metrics.spec), PROMETHEUS_CONTENT_TYPE);
      else if (path === '/metrics') send(res, 200, snapshot());
      else if (draining) send(res, 503, { status: 'draining' });
      else send(res, 200, { status: 'ok', ...options.health() });
    } catch (error) {
      if (error instanceof ApiError) {
        // The rest of a refused body is dropped unparsed, so the connection cannot carry another request.
        send(res, error.status, error.body(), error.code === 'body_too_large' ? { connection: 'close' } : {});
      } else {
        log(io, `serve: ${req.method} ${req.url} failed: ${(error as Error)?.stack ?? String(error)}`);
        send(res, 500, new ApiError(500, 'internal_error', 'the server failed on this request (see its log)').body());
      }
      // An answer already under way (a stream) cannot change its status: it ends here.
      if (res.headersSent && !res.writableEnded) res.end();
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
    socket.end(`HTTP/1.1 ${api.status} ${timeout ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: ${JSON_CONTENT_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
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
    await options.release();
    log(io, 'serve: model released; stopped');
  }

  return {
    url,
    port,
    metrics: snapshot,
    get draining() {
      return draining;
    },
    close: (reason = 'close()') => (closing ??= shutdown(reason)),
  };
}
