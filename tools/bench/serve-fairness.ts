// Fairness of `gap-relm serve` under mixed load (issue 12): --heavy clients each send maximal
// legal requests (64 texts × 512 characters) back to back while --small clients each send
// one-text requests back to back, for --seconds; the small requests' p50 / p99 latency and rate,
// twice in the same run: the batching `serve` ships (round-robin across requests, at most
// --max-batch-chars 4096 characters per model call) and the baseline (first in, first out, no
// character bound: the behaviour before). A run with the small clients alone gives the unloaded
// figures. The server runs in this process on 127.0.0.1 (onnx engine, cpu provider) over a
// random-init model of the demo's size.
// Run from the repo root: npx tsx tools/bench/serve-fairness.ts [--seconds 30] [--heavy 4] [--small 4] [--batch-chars 4096]
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@proj/models';
// The server is the app's own: the bench measures what `gap-relm serve` runs.
import type { CliIO } from '../../apps/gap-relm/src/cli-io';
import { loadCorrector } from '../../apps/gap-relm/src/load-corrector';
import { DEFAULT_SERVE_CONFIG } from '../../apps/gap-relm/src/serve/serve-config';
import { startServer } from '../../apps/gap-relm/src/serve/server';
import { randomDemoModel } from './demo-model';
import { intFlag } from './int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const flag = (name: string, fallback: number) => intFlag('serve-fairness', name, fallback);
const seconds = flag('seconds', 30);
const heavyClients = flag('heavy', 4);
const smallClients = flag('small', 4);
const batchChars = flag('batch-chars', DEFAULT_SERVE_CONFIG.maxBatchChars);

const sources = readFileSync(join(root, 'apps/gap-relm/data/sighan/sighan15-test.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t')[1]);
const long = sources.join('').slice(0, 64 * 512);
const HEAVY = JSON.stringify({ texts: Array.from({ length: 64 }, (_, i) => long.slice(i * 512, (i + 1) * 512)) });
const small = (i: number) => JSON.stringify({ texts: [sources[i % sources.length]] });

function post(port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/correct', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const quiet: CliIO = { stdout: new Writable({ write: (_c, _e, done) => done() }), stderr: new Writable({ write: (_c, _e, done) => done() }) };
const percentile = (sorted: number[], p: number) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]);

interface Row {
  name: string;
  p50: number;
  p99: number;
  rate: number;
  heavyTexts: number;
  failures: number;
}

async function measure(name: string, model: string, options: { fair: boolean; maxBatchChars: number; heavy: number }): Promise<Row> {
  const corrector = await loadCorrector({ model, engine: 'onnx', providers: ['cpu'], backend: 'cpu' }, quiet);
  const handle = await startServer(corrector, { ...DEFAULT_SERVE_CONFIG, port: 0, maxBatchChars: options.maxBatchChars, fairBatching: options.fair, decode: {} }, quiet);
  const end = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let heavyTexts = 0;
  let failures = 0;
  const heavy = async () => {
    while (performance.now() < end) {
      if ((await post(handle.port, HEAVY).catch(() => 0)) === 200) heavyTexts += 64;
      else failures++;
    }
  };
  const light = async (k: number) => {
    for (let i = k; performance.now() < end; i += smallClients) {
      const started = performance.now();
      const status = await post(handle.port, small(i)).catch(() => 0);
      if (status === 200) latencies.push(performance.now() - started);
      else failures++;
    }
  };
  const started = performance.now();
  await Promise.all([...Array.from({ length: options.heavy }, heavy), ...Array.from({ length: smallClients }, (_, k) => light(k))]);
  const elapsed = (performance.now() - started) / 1000;
  await handle.close();
  latencies.sort((a, b) => a - b);
  return { name, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), rate: latencies.length / elapsed, heavyTexts, failures };
}

await initBackend({ backend: 'cpu' });
const work = await mkdtemp(join(tmpdir(), 'serve-fairness-'));
try {
  const model = await randomDemoModel(join(work, 'model'), 42);
  // Exported once here, outside the measured runs.
  await loadCorrector({ model, engine: 'onnx', providers: ['cpu'], backend: 'cpu' }, quiet).then((c) => c.release());
  const rows = [
    await measure('small clients alone', model, { fair: true, maxBatchChars: batchChars, heavy: 0 }),
    await measure('baseline: first in, first out, no character bound', model, { fair: false, maxBatchChars: 1e9, heavy: heavyClients }),
    await measure(`round-robin, --max-batch-chars ${batchChars}`, model, { fair: true, maxBatchChars: batchChars, heavy: heavyClients }),
  ];
  console.log(`serve fairness: ${smallClients} small clients (1 SIGHAN-15 sentence per request) and ${heavyClients} heavy clients (64 × 512 characters per request), ${seconds} s per run; ${cpus()[0]?.model ?? 'cpu'}, ${availableParallelism()} cores; onnx engine, cpu provider, demo-size random-init model`);
  console.log('| run | small p50 ms | small p99 ms | small req/s | heavy texts/s | failures |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.name} | ${r.p50.toFixed(0)} | ${r.p99.toFixed(0)} | ${r.rate.toFixed(1)} | ${(r.heavyTexts / seconds).toFixed(1)} | ${r.failures} |`);
  const [, before, after] = rows;
  console.log(`small-request p50 ${before.p50.toFixed(0)} → ${after.p50.toFixed(0)} ms (${(before.p50 / after.p50).toFixed(1)}× lower), p99 ${before.p99.toFixed(0)} → ${after.p99.toFixed(0)} ms, ${before.rate.toFixed(1)} → ${after.rate.toFixed(1)} req/s`);
} finally {
  await rm(work, { recursive: true, force: true });
}
