import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { BertTokenizer, GapRelm, buildCharVocab, initBackend } from '@proj/models';
import type { Correction, GapRelmDecodeConfig } from '@proj/sampling';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bundled } from '../bundled-data';
import { cli } from '../cli-harness';
import type { CliIO } from '../cli-io';
import { runServe } from '../commands/serve';
import type { Corrector } from '../load-corrector';
import { DEFAULT_SERVE_CONFIG, type ServeConfig } from './serve-config';
import { type ServeHandle, startServer } from './server';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}
const captureIO = () => {
  const stderr = new Capture();
  return { io: { stdout: new Capture(), stderr } as CliIO, stderr };
};

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** One HTTP request on a fresh connection; `chunks` are written one by one (chunked encoding, no length). */
function call(url: string, method: string, path: string, body?: string | Buffer | { chunks: Buffer[] }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, json: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
    });
    req.on('error', reject);
    if (body !== undefined && typeof body === 'object' && !Buffer.isBuffer(body)) for (const chunk of body.chunks) req.write(chunk);
    else if (body !== undefined) req.setHeader('content-length', Buffer.byteLength(body)).write(body);
    req.end();
  });
}
const correct = (url: string, texts: unknown) => call(url, 'POST', '/v1/correct', JSON.stringify({ texts }));

/** Decisions and strings: the served JSON has exactly these fields; confidences are compared apart. */
const decisions = (cs: Correction[]) => cs.map((c) => ({ ...c, edits: c.edits.map((e) => ({ ...e, confidence: 0 })) }));
function expectSameCorrections(served: Correction[], expected: Correction[]): void {
  expect(decisions(served)).toEqual(decisions(expected));
  // onnxruntime (served) against tfjs (expected): float arithmetic of two engines, equal to ~1e-7.
  served.forEach((c, i) => c.edits.forEach((e, j) => expect(Math.abs(e.confidence - expected[i].edits[j].confidence)).toBeLessThan(1e-5)));
}

// A random-init tiny model (the server's plumbing is under test, not the corrections). Thresholds
// near a third make the random planner replace, delete and insert.
const DECODE: Partial<GapRelmDecodeConfig> = { deleteThreshold: 0.34, replaceThreshold: 0.34, insertThreshold: 0.76 };
const LIMITS = { maxBodyBytes: 2048, maxTexts: 8, maxChars: 40 };
const sighan = readFileSync(bundled.sighan15Test, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t'));
const TEXTS = [...sighan.slice(0, 9).map((f) => f[1].slice(0, 30)), '', ' ', 'abc 123', '😀'.repeat(40)];

let dir: string;
let expected: Correction[];
let server: ServeHandle;
let serverLog: Capture;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gap-relm-serve-'));
  await initBackend({ backend: 'cpu' });
  const tokenizer = BertTokenizer.fromVocabText(buildCharVocab(sighan.slice(0, 200).flatMap((f) => f.slice(1))).toText());
  const config = { hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64, max_position_embeddings: 64, prompt_length: 2, dropout: 0 };
  const model = GapRelm.create(config, tokenizer, 7);
  await model.save(join(dir, 'model'));
  expected = await model.correct(TEXTS, DECODE);
  model.dispose();
  const { io, stderr } = captureIO();
  serverLog = stderr;
  const options = { ...DEFAULT_SERVE_CONFIG, ...LIMITS, port: 0, maxWaitMs: 20 };
  server = await runServe({ ...options, model: join(dir, 'model'), engine: 'onnx', providers: ['cpu'], backend: 'cpu', decode: DECODE }, io);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('gap-relm serve: answers', () => {
  it('prints one listening line; /healthz names the engine, provider and model', async () => {
    expect(serverLog.text.match(/^serve: listening on .*$/gm)).toEqual([`serve: listening on ${server.url}`]);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(serverLog.text).toContain('onnx: exported');
    const health = await call(server.url, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 200, json: { status: 'ok', engine: 'onnx', provider: 'cpu', model: join(dir, 'model') } });
  });

  it('POST /v1/correct returns model.correct() of the same texts, in order', async () => {
    const first = await correct(server.url, TEXTS.slice(0, 8));
    const rest = await correct(server.url, TEXTS.slice(8));
    expect([first.status, rest.status]).toEqual([200, 200]);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    const served: Correction[] = [...first.json.results, ...rest.json.results];
    expectSameCorrections(served, expected);
    const kinds = new Set(served.flatMap((c) => c.edits.map((e) => e.kind)));
    expect([...kinds].sort()).toEqual(['delete', 'insert', 'replace']);
    expect(await correct(server.url, [])).toMatchObject({ status: 200, json: { results: [] } });
  });

  it('gathers concurrent requests into shared batches; each gets its own results in order', async () => {
    const before = server.metrics();
    // 12 requests of 1..3 texts each, sent together.
    const asks = Array.from({ length: 12 }, (_, i) => Array.from({ length: 1 + (i % 3) }, (_, j) => (i * 5 + j * 3) % TEXTS.length));
    const answers = await Promise.all(asks.map((indices) => correct(server.url, indices.map((k) => TEXTS[k]))));
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expectSameCorrections(answer.json.results, asks[i].map((k) => expected[k]));
    });
    const after = server.metrics();
    const texts = asks.reduce((n, a) => n + a.length, 0);
    expect(after.textsCorrected - before.textsCorrected).toBe(texts);
    // Fewer model calls than requests: some batch held texts of several requests.
    expect(after.batches.count - before.batches.count).toBeLessThan(asks.length);
    expect(Math.max(...Object.keys(after.batches.sizeHistogram).map(Number))).toBeGreaterThan(3);
    expect(after.latencyMs.count - before.latencyMs.count).toBe(asks.length);
    expect(after.latencyMs.p50).toBeGreaterThan(0);
    expect(after.requests.byStatus['200']).toBeGreaterThanOrEqual(asks.length);
    expect(after.queueDepth).toBe(0);
    expect(after.latencyMs.sum).toBeGreaterThan(0);
  });

  it('GET /metrics answers Prometheus text to a scraper (Accept: text/plain), JSON otherwise', async () => {
    // Before the scrape, which is counted once answered.
    const json = server.metrics();
    const scraped = await new Promise<{ status: number; type?: string; text: string }>((resolve, reject) => {
      const req = request(new URL('/metrics', server.url), { headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' }, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], text: Buffer.concat(parts).toString('utf8') }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(scraped.status).toBe(200);
    expect(scraped.type).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(scraped.text).toContain(`gap_relm_requests_total{status="200"} ${json.requests.byStatus['200']}\n`);
    expect(scraped.text).toContain(`gap_relm_batch_size_bucket{le="+Inf"} ${json.batches.count}\n`);
    expect(scraped.text).toMatch(/gap_relm_request_latency_ms\{quantile="0\.99"\} [\d.]+\n/);
    expect((await call(server.url, 'GET', '/metrics')).json.requests.byStatus['200']).toBe(json.requests.byStatus['200'] + 1);
  });
});

describe('gap-relm serve: refusals', () => {
  const big = Buffer.from(JSON.stringify({ texts: ['好'.repeat(1200)] })); // 3,614 bytes > 2,048
  it.each([
    { name: 'malformed JSON', path: '/v1/correct', body: '{"texts": ["a"', status: 400, code: 'malformed_json' },
    { name: 'bytes that are not UTF-8', path: '/v1/correct', body: Buffer.from([0x7b, 0xff, 0x7d]), status: 400, code: 'malformed_json' },
    { name: 'an array body', path: '/v1/correct', body: '["a"]', status: 400, code: 'invalid_request', message: 'got an array' },
    { name: 'no texts field', path: '/v1/correct', body: '{"text": ["a"]}', status: 400, code: 'invalid_request', message: 'no "texts" field' },
    { name: 'texts not an array', path: '/v1/correct', body: '{"texts": "a"}', status: 400, code: 'invalid_request' },
    { name: 'a non-string text', path: '/v1/correct', body: '{"texts": ["a", 3]}', status: 400, code: 'invalid_request', message: 'texts[1] must be a string, got number' },
    { name: 'a body over the limit (Content-Length)', path: '/v1/correct', body: big, status: 413, code: 'body_too_large', limit: 2048, value: big.length },
    { name: 'a body over the limit (chunked)', path: '/v1/correct', body: { chunks: [big.subarray(0, 1500), big.subarray(1500, 3000), big.subarray(3000)] }, status: 413, code: 'body_too_large', limit: 2048, value: expect.any(Number), message: 'is more than 2048 bytes' },
    { name: 'too many texts', path: '/v1/correct', body: JSON.stringify({ texts: Array(9).fill('a') }), status: 422, code: 'too_many_texts', limit: 8, value: 9 },
    { name: 'a text too long', path: '/v1/correct', body: JSON.stringify({ texts: ['a', '😀'.repeat(41)] }), status: 422, code: 'text_too_long', limit: 40, value: 41, message: 'texts[1] has 41 characters' },
    { name: 'an unknown path', path: '/v2/correct', body: '{}', status: 404, code: 'not_found' },
    { name: 'GET on /v1/correct', method: 'GET', path: '/v1/correct', status: 405, code: 'method_not_allowed', allow: 'POST' },
    { name: 'POST on /healthz', path: '/healthz', body: '{}', status: 405, code: 'method_not_allowed', allow: 'GET' },
  ])('$name: $status $code, and the server still answers', async ({ method, path, body, status, code, limit, value, message, allow }) => {
    const answer = await call(server.url, method ?? 'POST', path, body);
    expect(answer.status).toBe(status);
    expect(answer.json.error).toMatchObject({ code, ...(limit === undefined ? {} : { limit, value }) });
    expect(Object.keys(answer.json.error).sort()).toEqual(limit === undefined ? ['code', 'message'] : ['code', 'limit', 'message', 'value']);
    if (message !== undefined) expect(answer.json.error.message).toContain(message);
    if (allow !== undefined) expect(answer.headers.allow).toBe(allow);
    const good = await correct(server.url, [TEXTS[0]]);
    expect(good.status).toBe(200);
    expectSameCorrections(good.json.results, [expected[0]]);
  });
});

describe('gap-relm serve: not HTTP', () => {
  it('bytes that are not an HTTP request get 400 from Node, and the server still answers', async () => {
    const socket = connect(server.port, '127.0.0.1');
    let raw = '';
    socket.on('data', (c: Buffer) => (raw += c.toString()));
    await new Promise((resolve) => {
      socket.on('close', resolve);
      socket.write('HELLO /v1/correct NOPE\r\n\r\n');
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request/);
    expect((await correct(server.url, [TEXTS[1]])).status).toBe(200);
  });
});

/** A corrector without a model: upper-cases, fails on "boom", and can be held mid-batch. */
function fakeCorrector() {
  let gate: Promise<void> = Promise.resolve();
  let open = () => {};
  let entered = () => {};
  const fake = {
    released: 0,
    entered: Promise.resolve(),
    hold() {
      gate = new Promise((resolve) => (open = resolve));
      fake.entered = new Promise((resolve) => (entered = resolve));
    },
    open: () => open(),
    corrector: {
      info: { engine: 'tfjs', backend: 'fake', model: 'fake' },
      correct: async (texts: string[]) => {
        entered();
        await gate;
        if (texts.includes('boom')) throw new Error('boom in the model');
        return texts.map((source) => ({ source, corrected: source.toUpperCase(), edits: [] }));
      },
      release: async () => void fake.released++,
    } satisfies Corrector,
  };
  return fake;
}

const fakeOptions = (overrides: Partial<ServeConfig> = {}) => ({ ...DEFAULT_SERVE_CONFIG, port: 0, maxWaitMs: 0, decode: {}, ...overrides });

describe('gap-relm serve: fairness and slow clients', () => {
  it('a request of many long texts is spread over batches: a small request sent after it is answered before it', async () => {
    const fake = fakeCorrector();
    const batches: string[][] = [];
    const slow: Corrector = {
      ...fake.corrector,
      // Time grows with the characters of a batch, as a model's does.
      correct: async (texts) => {
        batches.push(texts);
        await new Promise((resolve) => setTimeout(resolve, texts.reduce((n, t) => n + t.length, 0) / 100));
        return fake.corrector.correct(texts);
      },
    };
    const handle = await startServer(slow, fakeOptions({ maxBatchTexts: 32, maxBatchChars: 2048, maxWaitMs: 5 }), captureIO().io);
    const long = Array.from({ length: 64 }, (_, i) => `${i}`.padEnd(512, '长'));
    const order: string[] = [];
    const big = correct(handle.url, long).then((a) => (order.push('big'), a));
    await vi.waitFor(() => expect(batches.length).toBeGreaterThan(0));
    const small = correct(handle.url, ['短句']).then((a) => (order.push('small'), a));
    const [bigAnswer, smallAnswer] = await Promise.all([big, small]);
    expect([bigAnswer.status, smallAnswer.status]).toEqual([200, 200]);
    expect(bigAnswer.json.results.map((r: Correction) => r.source)).toEqual(long);
    expect(order).toEqual(['small', 'big']);
    expect(Math.max(...batches.map((b) => b.reduce((n, t) => n + t.length, 0)))).toBeLessThanOrEqual(2048);
    // 64 × 512 characters make 16 batches of 2048; the small text rides in one of the first ones after it arrived.
    expect(batches).toHaveLength(17);
    expect(batches.findIndex((b) => b.includes('短句'))).toBeLessThanOrEqual(3);
    await handle.close();
  });

  it('malformed HTTP gets a JSON 400; a client too slow with its headers gets a JSON 408 and is cut', async () => {
    const fake = fakeCorrector();
    const handle = await startServer(fake.corrector, fakeOptions({ headersTimeoutMs: 200, requestTimeoutMs: 400 }), captureIO().io);
    const rawExchange = async (bytes: string) => {
      const socket = connect(handle.port, '127.0.0.1');
      let raw = '';
      socket.on('data', (c: Buffer) => (raw += c.toString()));
      const started = performance.now();
      await new Promise((resolve) => {
        socket.on('close', resolve);
        socket.write(bytes);
      });
      return { raw, ms: performance.now() - started };
    };
    const bad = await rawExchange('HELLO /v1/correct NOPE\r\n\r\n');
    expect(bad.raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\ncontent-type: application\/json/);
    expect(JSON.parse(bad.raw.slice(bad.raw.indexOf('\r\n\r\n') + 4)).error.code).toBe('bad_http');
    const loris = await rawExchange('POST /v1/correct HTTP/1.1\r\nHost: test\r\n');
    expect(loris.raw).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
    expect(JSON.parse(loris.raw.slice(loris.raw.indexOf('\r\n\r\n') + 4)).error.code).toBe('request_timeout');
    expect(loris.ms).toBeLessThan(3000);
    expect((await correct(handle.url, ['ok'])).status).toBe(200);
    await handle.close();
    await expect(startServer(fake.corrector, fakeOptions({ headersTimeoutMs: 500, requestTimeoutMs: 100 }), captureIO().io)).rejects.toThrow('--headers-timeout-ms (500) must be <= --request-timeout-ms (100)');
  });
});

describe('gap-relm serve: model errors and shutdown', () => {
  it('a failing batch answers 500 to its requests only; other batches and later requests get 200', async () => {
    const fake = fakeCorrector();
    const handle = await startServer(fake.corrector, fakeOptions({ maxBatchTexts: 1 }), captureIO().io);
    const [bad, good] = await Promise.all([correct(handle.url, ['boom']), correct(handle.url, ['ok'])]);
    expect(bad).toMatchObject({ status: 500, json: { error: { code: 'model_error' } } });
    expect(bad.json.error.message).toContain('boom in the model');
    expect(good).toMatchObject({ status: 200, json: { results: [{ source: 'ok', corrected: 'OK', edits: [] }] } });
    expect(handle.metrics().batches).toMatchObject({ count: 2, failed: 1 });
    expect((await correct(handle.url, ['again'])).status).toBe(200);
    await handle.close();
  });

  it('close() answers the request in flight with 200, says draining, refuses new connections, then releases the model', async () => {
    const fake = fakeCorrector();
    const { io, stderr } = captureIO();
    const handle = await startServer(fake.corrector, fakeOptions(), io);
    fake.hold();
    const inFlight = correct(handle.url, ['x', 'y']);
    await fake.entered;
    // A second connection that has started a request (so it is not idle) and finishes it after close().
    const socket = connect(handle.port, '127.0.0.1');
    let raw = '';
    socket.on('data', (c: Buffer) => (raw += c.toString()));
    const socketClosed = new Promise((resolve) => socket.on('close', resolve));
    await new Promise<void>((resolve) => socket.write('GET /healthz HTTP/1.1\r\nHost: test\r\n', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = handle.close('test');
    socket.write('\r\n');
    await socketClosed;
    expect(raw).toMatch(/^HTTP\/1\.1 503 /);
    expect(raw.endsWith('{"status":"draining"}')).toBe(true);
    await expect(call(handle.url, 'GET', '/healthz')).rejects.toThrow(/ECONNREFUSED/);
    expect(fake.released).toBe(0);
    fake.open();
    expect(await inFlight).toMatchObject({ status: 200, json: { results: [{ corrected: 'X' }, { corrected: 'Y' }] } });
    await closed;
    expect(fake.released).toBe(1);
    const steps = stderr.text.split('\n').filter((l) => l.startsWith('serve: ') && !l.startsWith('serve: listening'));
    expect(steps).toEqual([
      'serve: test: shutting down; no new connections, 1 requests in flight',
      'serve: requests in flight answered',
      'serve: connections closed',
      'serve: model released; stopped',
    ]);
    await handle.close(); // idempotent
    expect(fake.released).toBe(1);
  });

  it('a client that never finishes its body does not hold the shutdown past --shutdown-grace-ms', async () => {
    const fake = fakeCorrector();
    const { io, stderr } = captureIO();
    const handle = await startServer(fake.corrector, fakeOptions({ shutdownGraceMs: 100 }), io);
    const socket = connect(handle.port, '127.0.0.1');
    const socketClosed = new Promise((resolve) => socket.on('close', resolve));
    socket.write('POST /v1/correct HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n{"texts": [');
    await vi.waitFor(() => expect(handle.metrics().inFlight).toBe(1));
    await handle.close('test');
    await socketClosed;
    expect(fake.released).toBe(1);
    expect(stderr.text).toContain('serve: requests or connections still open 100 ms after the shutdown began; cutting them');
  });

  it('a port in use is one clear error', async () => {
    const fake = fakeCorrector();
    await expect(startServer(fake.corrector, fakeOptions({ port: server.port }), captureIO().io)).rejects.toThrow(`serve: cannot listen on 127.0.0.1:${server.port} (--port ${server.port}): EADDRINUSE`);
  });
});

describe('gap-relm serve: the command', () => {
  it('SIGTERM drains the server: the process answers, logs each step and exits 0', async () => {
    // The CLI from source in a child process (through tsx), on the model the server above exported.
    const cliPath = fileURLToPath(new URL('../cli.ts', import.meta.url));
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const child = spawn(process.execPath, ['--import', tsx, cliPath, 'serve', '--model', join(dir, 'model'), '--port', '0', '--backend', 'cpu', '--providers', 'cpu'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const listening = /^serve: listening on (\S+)$/m.exec(stderr);
        if (listening) resolve(listening[1]);
      });
      void exited.then(() => reject(new Error(`serve exited early:\n${stderr}`)));
    });
    expect((await correct(url, [TEXTS[0]])).status).toBe(200);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toContain('serve: SIGTERM: shutting down; no new connections, 0 requests in flight');
    expect(stderr).toContain('serve: model released; stopped');
  }, 30_000);
});

describe('gap-relm serve: flags', () => {
  it.each([
    [['--max-batch-texts', '0'], '--max-batch-texts must be an integer >= 1, got "0"'],
    [['--max-wait-ms', '-1'], '--max-wait-ms must be an integer >= 0, got "-1"'],
    [['--port', '70000'], '--port must be an integer in [0, 65535], got "70000"'],
    [['--max-chars', 'many'], '--max-chars must be an integer >= 1, got "many"'],
    [['--engine', 'torch'], "argument 'torch' is invalid"],
  ])('%j is refused with exit code 2', async (flags, message) => {
    const { code, stderr } = await cli('serve', '--model', 'nowhere', ...flags);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('a missing model directory is one clear error', async () => {
    const { code, stderr } = await cli('serve', '--model', join(dir, 'nope'), '--port', '0');
    expect(code).toBe(2);
    expect(stderr.trim().split('\n').at(-1)).toBe(`gap-relm: --model: directory not found: ${join(dir, 'nope')}`);
  });
});
