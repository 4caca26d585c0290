// SGDD sampling speed: 16-step guided MaskGIT (w = 2: two decoder passes per step) with the
// full-size decoder (6 layers, hidden 512, vocab 21,128; random weights: speed does not depend on
// them), on onnxruntime-node and, as the in-run baseline, tfjs. Latency per sentence at batch 1
// and sentences/s at batch --batch (default 8).
// Run from the repo root: npx tsx tools/bench/sgdd.ts [--len 32] [--steps 16] [--runs 1] [--batch 8] [--backend wasm|cpu]
import { cpus } from 'node:os';
import { Rng } from '@proj/core';
import { maskGitDecode, type DenoiserLogitsSource } from '@proj/sampling';
import { OnnxSgddDenoiser, SgddDenoiser, SgddModel, createOnnxSession, defaultSgddConfig, initBackend, sgddDecoderToOnnx } from '@proj/models';
import { intFlag } from './int-flag';

const flag = (name: string, fallback: number) => intFlag('sgdd', name, fallback);
const len = flag('len', 32);
const steps = flag('steps', 16);
const runs = flag('runs', 1);
const big = flag('batch', 8);
const backendAt = process.argv.indexOf('--backend');
const backend = (backendAt >= 0 ? process.argv[backendAt + 1] : 'wasm') as 'wasm' | 'cpu';
const config = defaultSgddConfig;

/** Mean seconds of one decode of `batch` rows, over `runs` timed runs after one warm-up run. */
async function time(makeSource: (vectors: Float32Array[]) => DenoiserLogitsSource, batch: number): Promise<number> {
  const rng = new Rng(3);
  const vectors = Array.from({ length: batch }, () => Float32Array.from({ length: config.semantic_size }, () => rng.normal()));
  const fixed = vectors.map(() => Int32Array.from({ length: len }, (_, i) => (i === 0 ? config.cls_token_id : i === len - 1 ? config.sep_token_id : config.mask_token_id)));
  const decode = () => maskGitDecode(makeSource(vectors), { batch, length: len, fixed, config: { steps, guidanceScale: 2, temperature: 0, choiceTemperature: 0 } });
  await decode();
  const start = performance.now();
  for (let i = 0; i < runs; i++) await decode();
  return (performance.now() - start) / 1000 / runs;
}

const info = await initBackend({ backend });
console.log(`backend: ${info.name} (${info.detail}); ${cpus().length} cores; len ${len}, ${steps} steps, w = 2, ${runs} runs`);
const model = SgddModel.random(config, new Rng(1));
console.log(`decoder: ${model.params.count().toLocaleString('en-US')} parameters`);
const { session, provider, intraOpNumThreads } = await createOnnxSession(await sgddDecoderToOnnx(model), { executionProviders: ['cpu'], log: () => {} });
console.log(`onnxruntime: provider ${provider}, ${intraOpNumThreads} threads`);

const rows: { engine: string; batch1: number; batchN: number }[] = [];
for (const [engine, make] of [
  ['onnxruntime', (v: Float32Array[]) => new OnnxSgddDenoiser(session, config, v)],
  [`tfjs-${info.name}`, (v: Float32Array[]) => new SgddDenoiser(model, v)],
] as const) {
  const batch1 = await time(make, 1);
  const batchN = big / (await time(make, big));
  rows.push({ engine, batch1, batchN });
  console.log(`${engine}: ${batch1.toFixed(3)} s / sentence at batch 1, ${batchN.toFixed(2)} sentences / s at batch ${big}`);
}
const base = rows[1]; // tfjs, the baseline
console.log(`\n| engine | s / sentence, batch 1 | sentences / s, batch ${big} | speed-up vs tfjs (batch 1, batch ${big}) |`);
console.log('|---|---|---|---|');
for (const r of rows) console.log(`| ${r.engine} | ${r.batch1.toFixed(3)} | ${r.batchN.toFixed(2)} | ${(base.batch1 / r.batch1).toFixed(2)}x, ${(r.batchN / base.batchN).toFixed(2)}x |`);
await session.release();
model.dispose();
