// Load test of `mateconv serve` (issue 13): the server in this process (onnx engine: onnxruntime
// with the KV cache, cpu provider) on 127.0.0.1, and a load generator in a child process keeping
// --concurrency requests open at once (bounded load: a client sends its next request when its last
// one is answered), for --requests requests or --seconds, after a warm-up. Requests are streamed
// completions and chat completions (stream: true, seeded sampling, max_tokens --max-tokens) of
// prompts from the bundled Wikipedia sentences; every --malformed-every-th request is malformed
// (a table of bad bodies and paths) and must get a 4xx with a JSON error. Measured at the client:
// requests/s, time to first token (the first data chunk with text), per-token latency ((last chunk
// - first chunk) / (completion tokens - 1), tokens from the usage chunk), generated tokens/s.
// Twice in the same run: batching off (--max-batch-rows 1, the baseline) and on (--batch-rows).
// Exits 1 if a well-formed request failed or a malformed one was not answered 4xx with JSON.
// Run from the repo root: npx tsx tools/bench/mateconv-serve-load.ts [--requests 300] [--seconds 120]
//   [--concurrency 8] [--max-tokens 32] [--batch-rows 8] [--warmup 16] [--malformed-every 10]
//   [--greedy] [--preset cpu-small|minimind-26m] [--model DIR]
// --greedy sends temperature 0 (no top_p, no penalty) instead of seeded sampling. Without --model a
// random-init model of --preset (default cpu-small: 1.6M parameters, vocabulary 6,400) is written
// to a temp dir.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request, Agent } from 'node:http';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Rng } from '@proj/core';
import { CAUSAL_LM_PRESETS, CausalLm, initBackend, saveCausalLm } from '@proj/models';
// The server is the app's own: the bench measures what `mateconv serve` runs.
import { bundled } from '../../apps/mateconv/src/bundled-data';
import { DEFAULT_SERVE_CONFIG, runServe, type MateconvServer } from '../../apps/mateconv/src/commands/serve';
import { intFlag } from './int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const require = createRequire(import.meta.url);
const flag = (name: string, fallback: number) => intFlag('mateconv-serve-load', name, fallback);
const SEED = 42;

/** One request the client sends: a path and a body; `malformed` ones must get a 4xx JSON error. */
interface Ask {
  path: string;
  method: string;
  body: string;
  malformed: boolean;
}

/** What the client measured over one run. */
interface ClientResult {
  seconds: number;
  wellFormed: number;
  ok: number;
  failed: number;
  failures: string[];
  malformed: number;
  malformed4xx: number;
  ttftMs: number[];
  perTokenMs: number[];
  completionTokens: number;
}

const MALFORMED: Omit<Ask, 'malformed'>[] = [
  { method: 'POST', path: '/v1/completions', body: '{"prompt": "北京' },
  { method: 'POST', path: '/v1/completions', body: JSON.stringify({ prompt: '北京', temperature: 5 }) },
  { method: 'POST', path: '/v1/completions', body: JSON.stringify({ max_tokens: 8 }) },
  { method: 'POST', path: '/v1/completions', body: JSON.stringify({ prompt: '北京', max_tokens: 0 }) },
  { method: 'POST', path: '/v1/completions', body: JSON.stringify({ prompt: '中'.repeat(3000), max_tokens: 8 }) },
  { method: 'POST', path: '/v1/chat/completions', body: JSON.stringify({ messages: [{ role: 'robot', content: 'x' }] }) },
  { method: 'POST', path: '/v1/chat/completions', body: '[]' },
  { method: 'GET', path: '/v1/completions', body: '' },
  { method: 'POST', path: '/v2/nothing', body: '{}' },
];

/** The request sequence: seeded prompts (10..40 characters of the bundled sentences), a quarter of them chat. */
function asks(n: number, maxTokens: number, malformedEvery: number, greedy: boolean): Ask[] {
  const lines = readFileSync(join(root, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt'), 'utf8').split('\n').filter((l) => l.trim().length >= 10);
  const rng = new Rng(SEED);
  return Array.from({ length: n }, (_, i) => {
    if (malformedEvery > 0 && i % malformedEvery === malformedEvery - 1) return { ...MALFORMED[(i / malformedEvery) % MALFORMED.length | 0], malformed: true };
    const text = rng.pick(lines).slice(0, rng.intBetween(10, 40));
    const sampling = { max_tokens: maxTokens, ...(greedy ? { temperature: 0 } : { temperature: 0.8, top_p: 0.95, repetition_penalty: 1.2, seed: i }), stream: true, stream_options: { include_usage: true } };
    const chat = rng.float() < 0.25;
    return chat
      ? { method: 'POST', path: '/v1/chat/completions', body: JSON.stringify({ messages: [{ role: 'user', content: text }], ...sampling }), malformed: false }
      : { method: 'POST', path: '/v1/completions', body: JSON.stringify({ prompt: text, ...sampling }), malformed: false };
  });
}

// ---- the client (a child process: the load generator does not share the server's event loop) ----

/** Sends one request; for a stream, times the first text chunk and the last. */
function send(port: number, agent: Agent, ask: Ask): Promise<{ status: number; json: boolean; firstAt?: number; lastAt?: number; tokens: number; done: boolean; startedAt: number }> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const req = request({ host: '127.0.0.1', port, method: ask.method, path: ask.path, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(ask.body) } }, (res) => {
      let buffer = '';
      let firstAt: number | undefined;
      let lastAt: number | undefined;
      let tokens = 0;
      let done = false;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        if (!(res.headers['content-type'] ?? '').startsWith('text/event-stream')) return;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const event = buffer.slice(0, end).replace(/^data: /, '');
          buffer = buffer.slice(end + 2);
          if (event === '[DONE]') {
            done = true;
            continue;
          }
          const data = JSON.parse(event) as { choices: { text?: string; delta?: { content?: string } }[]; usage?: { completion_tokens: number } };
          if (data.usage) tokens = data.usage.completion_tokens;
          if (data.choices.some((c) => (c.text ?? c.delta?.content ?? '') !== '')) {
            lastAt = performance.now();
            firstAt ??= lastAt;
          }
        }
      });
      res.on('end', () => {
        let json = false;
        try {
          json = typeof JSON.parse(buffer).error?.code === 'string';
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode ?? 0, json, firstAt, lastAt, tokens, done, startedAt });
      });
      res.on('error', reject);
    });
    req.setTimeout(120_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(ask.body);
  });
}

async function client(port: number, list: Ask[], concurrency: number, limitSeconds: number): Promise<ClientResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const r: ClientResult = { seconds: 0, wellFormed: 0, ok: 0, failed: 0, failures: [], malformed: 0, malformed4xx: 0, ttftMs: [], perTokenMs: [], completionTokens: 0 };
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < list.length && performance.now() - started < limitSeconds * 1000) {
      const ask = list[next++];
      try {
        const a = await send(port, agent, ask);
        if (ask.malformed) {
          r.malformed++;
          if (a.status >= 400 && a.status < 500 && a.json) r.malformed4xx++;
          else r.failures.push(`malformed ${ask.method} ${ask.path}: ${a.status}`);
          continue;
        }
        r.wellFormed++;
        if (a.status !== 200 || !a.done || a.firstAt === undefined) {
          r.failed++;
          r.failures.push(`${ask.path}: status ${a.status}, done ${a.done}`);
          continue;
        }
        r.ok++;
        r.ttftMs.push(a.firstAt - a.startedAt);
        if (a.tokens > 1) r.perTokenMs.push((a.lastAt! - a.firstAt) / (a.tokens - 1));
        r.completionTokens += a.tokens;
      } catch (error) {
        if (ask.malformed) r.malformed++;
        else {
          r.wellFormed++;
          r.failed++;
        }
        r.failures.push(`${ask.path}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  r.seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return r;
}

if (process.argv[2] === '--client') {
  process.once('message', async (m: { port: number; list: Ask[]; concurrency: number; seconds: number }) => {
    process.send!(await client(m.port, m.list, m.concurrency, m.seconds), () => process.disconnect());
  });
}

/** Runs the client in a child process against `port`. */
function runClient(port: number, list: Ask[], concurrency: number, seconds: number): Promise<ClientResult> {
  const child = fork(fileURLToPath(import.meta.url), ['--client'], { execArgv: ['--import', require.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send({ port, list, concurrency, seconds });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as ClientResult));
    child.once('exit', (code) => reject(new Error(`bench/mateconv-serve-load: the client exited with code ${code} before its result`)));
  });
}

// ---- the run ----

const quiet = new Writable({ write: (_c, _e, done) => done() });
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil((p * sorted.length) / 100) - 1)];
};

async function measure(name: string, model: string, batchRows: number, list: Ask[], o: { concurrency: number; seconds: number; warmup: number }) {
  const log: string[] = [];
  const io = { stdout: quiet, stderr: new Writable({ write: (c, _e, done) => (log.push(c.toString()), done()) }) };
  const server: MateconvServer = await runServe({ ...DEFAULT_SERVE_CONFIG, port: 0, maxBatchRows: batchRows, maxQueue: 1024, model, tokenizer: bundled.tokenizer, engine: 'auto', backend: 'cpu' }, io);
  try {
    await runClient(server.port, list.slice(0, o.warmup).filter((a) => !a.malformed), o.concurrency, o.seconds);
    const before = server.metrics();
    const result = await runClient(server.port, list, o.concurrency, o.seconds);
    const after = server.metrics();
    const batches = after.batches.count - before.batches.count;
    const rows = Object.entries(after.batches.sizeHistogram).reduce((n, [size, k]) => n + Number(size) * k, 0) - Object.entries(before.batches.sizeHistogram).reduce((n, [size, k]) => n + Number(size) * k, 0);
    return { name, batchRows, result, meanBatch: batches === 0 ? 0 : rows / batches, engineLine: log.join('').split('\n').find((l) => l.startsWith('engine: ')) ?? '' };
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  const o = { requests: flag('requests', 300), seconds: flag('seconds', 120), concurrency: flag('concurrency', 8), maxTokens: flag('max-tokens', 32), batchRows: flag('batch-rows', DEFAULT_SERVE_CONFIG.maxBatchRows), warmup: flag('warmup', 16), malformedEvery: flag('malformed-every', 10) };
  const greedy = process.argv.includes('--greedy');
  const presetAt = process.argv.indexOf('--preset');
  const preset = (presetAt < 0 ? 'cpu-small' : process.argv[presetAt + 1]) as keyof typeof CAUSAL_LM_PRESETS;
  if (!Object.hasOwn(CAUSAL_LM_PRESETS, preset)) throw new RangeError(`bench/mateconv-serve-load: --preset must be one of ${Object.keys(CAUSAL_LM_PRESETS).join(', ')}, got ${preset}`);
  const modelAt = process.argv.indexOf('--model');
  const modelFlag = modelAt < 0 ? undefined : process.argv[modelAt + 1];
  const load0 = loadavg();
  const started = performance.now();
  const work = await mkdtemp(join(tmpdir(), 'bench-mateconv-serve-'));
  try {
    await initBackend({ backend: 'cpu' });
    let model = modelFlag;
    if (model === undefined) {
      const lm = CausalLm.random({ ...CAUSAL_LM_PRESETS[preset], vocab_size: 6400 }, new Rng(SEED));
      model = join(work, 'model');
      await saveCausalLm(lm, model);
      lm.dispose();
    }
    const list = asks(o.requests, o.maxTokens, o.malformedEvery, greedy);
    const off = await measure('one prompt at a time (baseline)', model, 1, list, o);
    const on = await measure('batched', model, o.batchRows, list, o);
    const load1 = loadavg();
    const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
    const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
    console.log(`command: npx tsx tools/bench/mateconv-serve-load.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
    console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, onnxruntime-node ${version('onnxruntime-node')}; load average (1, 5, 15 min) ${la(load0)} at start, ${la(load1)} at end`);
    const c = CAUSAL_LM_PRESETS[preset] as { hidden_size?: number; num_hidden_layers?: number };
    console.log(`model: ${modelFlag ?? `random-init ${preset} (hidden ${c.hidden_size ?? 512}, ${c.num_hidden_layers ?? 8} layers, vocabulary 6,400)`}; ${on.engineLine}`);
    console.log(`load: ${o.concurrency} concurrent clients in a child process on 127.0.0.1, ${o.requests} requests or ${o.seconds} s per run after ${o.warmup} warm-up requests; streamed, ${greedy ? 'greedy (temperature 0)' : 'seeded sampling (temperature 0.8, top_p 0.95, repetition_penalty 1.2)'}, max_tokens ${o.maxTokens}, a quarter chat; every ${o.malformedEvery}th request malformed`);
    console.log('');
    const header = ['run', 'max-batch-rows', 'ok / well-formed', 'failed', 'malformed → 4xx', 'req/s', 'TTFT p50 ms', 'TTFT p99 ms', 'per-token p50 ms', 'per-token p99 ms', 'tokens/s', 'mean batch', '× baseline (req/s)'];
    const rps = (r: ClientResult) => r.ok / r.seconds;
    const table = [off, on].map((m) => [
      m.name,
      String(m.batchRows),
      `${m.result.ok} / ${m.result.wellFormed}`,
      String(m.result.failed),
      `${m.result.malformed4xx} / ${m.result.malformed}`,
      rps(m.result).toFixed(2),
      percentile(m.result.ttftMs, 50).toFixed(0),
      percentile(m.result.ttftMs, 99).toFixed(0),
      percentile(m.result.perTokenMs, 50).toFixed(1),
      percentile(m.result.perTokenMs, 99).toFixed(1),
      (m.result.completionTokens / m.result.seconds).toFixed(0),
      m.meanBatch.toFixed(2),
      `${(rps(m.result) / rps(off.result)).toFixed(2)}×`,
    ]);
    const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c].length)));
    const format = (cells: string[]) => `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
    console.log(format(header));
    console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`);
    for (const row of table) console.log(format(row));
    console.log(`\n(bench wall time ${((performance.now() - started) / 1000).toFixed(0)} s)`);
    const bad = [off, on].flatMap((m) => m.result.failures);
    if (bad.length > 0) {
      console.error(`bench/mateconv-serve-load: ${bad.length} failures:\n${bad.slice(0, 20).join('\n')}`);
      process.exitCode = 1;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] !== '--client') await main();
