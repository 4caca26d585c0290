// Load test of `gap-relm serve`: the server in this process (onnx engine, cpu provider), autocannon
// against it on loopback from a child process, twice with the same request sequence:
// micro-batching on (max-batch-texts 32, or --batch-texts) and off (max-batch-texts 1, the
// baseline). Bodies are {"texts": [...]} of 1..4 SIGHAN-15 test sources (seeded). Each run is
// bounded by --requests and by --seconds, after a short warm-up.
// Exits 1 if any well-formed request failed (non-2xx, error or timeout).
// Run from the repo root: npx tsx tools/bench/serve-load.ts [--model DIR] [--requests 2000]
//   [--seconds 60] [--connections 32] [--warmup 100] [--batch-texts 32]
// Without --model a random-init model of the demo's size is written to a temp dir (and exported to
// ONNX there on first use); with --model DIR the directory's onnx/ is written if missing.
import type autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@proj/core';
import { initBackend } from '@proj/models';
import type { Correction } from '@proj/sampling';
// The server is the app's own: the bench measures what `gap-relm serve` runs.
import { runServe } from '../../apps/gap-relm/src/commands/serve';
import { DEFAULT_SERVE_CONFIG } from '../../apps/gap-relm/src/serve/serve-config';
import { DEMO, randomDemoModel } from './demo-model';
import { intFlag } from './int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const data = (path: string) => join(root, 'apps/gap-relm/data', path);
const require = createRequire(import.meta.url);

const flag = (flagName: string, fallback: number) => intFlag('serve-load', flagName, fallback);
const requests = flag('requests', 2000);
const seconds = flag('seconds', 60);
const connections = flag('connections', 32);
const warmup = flag('warmup', 100);
const batchTexts = flag('batch-texts', DEFAULT_SERVE_CONFIG.maxBatchTexts);
const modelAt = process.argv.indexOf('--model');
const modelFlag = modelAt < 0 ? undefined : process.argv[modelAt + 1];
if (modelAt >= 0 && (modelFlag === undefined || modelFlag.startsWith('--'))) throw new RangeError('bench/serve-load: --model needs a directory');

const SEED = 42;
const BODIES = 1000;


/** `BODIES` request bodies of 1..4 SIGHAN-15 test sources each, and their sentence counts. */
function requestBodies(): { body: string; texts: number }[] {
  const sources = readFileSync(data('sighan/sighan15-test.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t')[1]);
  const rng = new Rng(SEED);
  return Array.from({ length: BODIES }, () => {
    const texts = Array.from({ length: rng.intBetween(1, 4) }, () => rng.pick(sources));
    return { body: JSON.stringify({ texts }), texts: texts.length };
  });
}

/** The part of autocannon's result the table shows. */
interface LoadResult {
  duration: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  p50: number;
  p99: number;
}

interface Row {
  run: string;
  maxBatchTexts: number;
  result: LoadResult;
  sentences: number;
  meanBatch: number;
  stoppedByTime: boolean;
}

// autocannon runs in a child process so that the load generator does not share the server's
// event loop (it still shares the cores). Results and the stop at the time bound go over IPC.
const CANNON_SCRIPT = `
const autocannon = require(process.argv[1]);
let instance;
process.on('message', (message) => {
  if (message === 'stop') return instance.stop();
  const { bodies, ...options } = message;
  let next = 0;
  const request = { method: 'POST', path: '/v1/correct', headers: { 'content-type': 'application/json' }, setupRequest: (r) => ({ ...r, body: bodies[next++ % bodies.length] }) };
  instance = autocannon({ ...options, requests: [request] }, (error, r) => {
    process.send(error
      ? { error: String(error.stack || error) }
      : { result: { duration: r.duration, ok: r['2xx'], non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, p50: r.latency.p50, p99: r.latency.p99 } },
      () => process.disconnect());
  });
});
`;

/** autocannon over `bodies` in order from the first, for `amount` requests or `limitSeconds`, whichever ends first. */
async function cannon(url: string, bodies: { body: string }[], amount: number, limitSeconds: number): Promise<{ result: LoadResult; stoppedByTime: boolean }> {
  const options = { url, connections: Math.min(connections, amount), amount, timeout: 30, bodies: bodies.map((b) => b.body) } satisfies autocannon.Options & { bodies: string[] };
  const child = spawn(process.execPath, ['-e', CANNON_SCRIPT, require.resolve('autocannon')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.send(options);
  let stoppedByTime = false;
  const timer = setTimeout(() => {
    stoppedByTime = true;
    child.send('stop');
  }, limitSeconds * 1000);
  try {
    const message = await new Promise<{ result?: LoadResult; error?: string }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { result?: LoadResult; error?: string }));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`bench/serve-load: autocannon exited with code ${code} before its result`)));
    });
    if (message.result === undefined) throw new Error(`bench/serve-load: autocannon failed: ${message.error}`);
    return { result: message.result, stoppedByTime };
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null) child.kill();
  }
}

async function measure(run: string, model: string, maxBatchTexts: number, bodies: { body: string }[]): Promise<Row & { editsPerSentence: number }> {
  const io = { stdout: process.stderr, stderr: process.stderr };
  const handle = await runServe({ ...DEFAULT_SERVE_CONFIG, port: 0, maxBatchTexts, model, engine: 'onnx', providers: ['cpu'], backend: 'cpu', decode: {} }, io);
  try {
    await cannon(handle.url, bodies.slice(BODIES - warmup), warmup, seconds);
    const before = handle.metrics();
    const { result, stoppedByTime } = await cannon(handle.url, bodies, requests, seconds);
    const after = handle.metrics();
    const batches = after.batches.count - before.batches.count;
    // What the model did with these sentences: edits per sentence over the first 20 bodies.
    const sample = await Promise.all(bodies.slice(0, 20).map(async ({ body }) => (await (await fetch(`${handle.url}/v1/correct`, { method: 'POST', body })).json()) as { results: Correction[] }));
    const corrections = sample.flatMap((s) => s.results);
    return {
      run,
      maxBatchTexts,
      result,
      stoppedByTime,
      sentences: after.textsCorrected - before.textsCorrected,
      meanBatch: batches === 0 ? 0 : (after.textsCorrected - before.textsCorrected) / batches,
      editsPerSentence: corrections.reduce((n, c) => n + c.edits.length, 0) / corrections.length,
    };
  } finally {
    await handle.close();
  }
}

async function main(): Promise<void> {
  const load0 = loadavg();
  const started = performance.now();
  const work = await mkdtemp(join(tmpdir(), 'bench-serve-load-'));
  try {
    await initBackend({ backend: 'cpu' });
    const model = modelFlag ?? (await randomDemoModel(join(work, 'model'), SEED));
    const bodies = requestBodies();
    const off = await measure('micro-batching off (baseline)', model, 1, bodies);
    const on = await measure('micro-batching on', model, batchTexts, bodies);
    const load1 = loadavg();

    const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
    const version = (name: string) => (require(`${name}/package.json`) as { version: string }).version;
    console.log(`command: npx tsx tools/bench/serve-load.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
    console.log(
      `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, onnxruntime-node ${version('onnxruntime-node')}, autocannon ${version('autocannon')}; load average (1, 5, 15 min) ${la(load0)} at start, ${la(load1)} at end`,
    );
    console.log(`model: ${modelFlag ?? `random-init, the demo's size (hidden ${DEMO.hidden_size}, ${DEMO.num_hidden_layers} layers, ${DEMO.num_attention_heads} heads, ffn ${DEMO.intermediate_size})`}; ${on.editsPerSentence.toFixed(2)} edits per sentence at the default thresholds`);
    console.log(
      `load: autocannon in a child process, ${connections} connections, ${requests} requests or ${seconds} s per run after ${warmup} warm-up requests; bodies of 1..4 SIGHAN-15 sources (mean ${(bodies.reduce((n, b) => n + b.texts, 0) / bodies.length).toFixed(2)}); server defaults but --max-batch-texts (max-wait-ms ${DEFAULT_SERVE_CONFIG.maxWaitMs})`,
    );
    console.log('');
    const rows = [off, on].map((r) => {
      const rps = r.result.ok / r.result.duration;
      const sps = r.sentences / r.result.duration;
      return { r, rps, sps };
    });
    const base = rows[0];
    const header = ['run', 'max-batch-texts', 'requests', 'req/s', 'sentences/s', 'mean batch', 'p50 ms', 'p99 ms', 'non-2xx', 'errors', '× baseline (req/s)'];
    const table = rows.map(({ r, rps, sps }) => [
      r.run + (r.stoppedByTime ? ' (stopped at the time bound)' : ''),
      String(r.maxBatchTexts),
      String(r.result.ok + r.result.non2xx),
      rps.toFixed(1),
      sps.toFixed(1),
      r.meanBatch.toFixed(2),
      String(r.result.p50),
      String(r.result.p99),
      String(r.result.non2xx),
      `${r.result.errors} (${r.result.timeouts} timeouts)`,
      `${(rps / base.rps).toFixed(2)}×`,
    ]);
    const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c].length)));
    const format = (cells: string[]) => `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
    console.log(format(header));
    console.log(`|${widths.map((w, c) => (c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`);
    for (const row of table) console.log(format(row));
    const [p50Ratio, p99Ratio] = [on.result.p50 / off.result.p50, on.result.p99 / off.result.p99];
    console.log(`\non / off: ${(rows[1].rps / base.rps).toFixed(2)}× req/s, ${(rows[1].sps / base.sps).toFixed(2)}× sentences/s, p50 ${p50Ratio.toFixed(2)}×, p99 ${p99Ratio.toFixed(2)}× (bench wall time ${((performance.now() - started) / 1000).toFixed(0)} s)`);

    const failed = rows.reduce((n, { r }) => n + r.result.non2xx + r.result.errors + r.result.timeouts, 0);
    if (failed > 0) {
      console.error(`bench/serve-load: ${failed} well-formed requests failed (non-2xx, errors or timeouts)`);
      process.exitCode = 1;
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
