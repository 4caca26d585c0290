// BERT step throughput on the wasm and cpu backends, with and without the explicit-transpose
// BatchMatMul gradient (wasm's fast XNNPACK matMul takes no transpose flags). Baseline in the
// same run: the cpu backend with tfjs-core's own gradient.
// Run from the repo root: npx tsx tools/bench/bert.ts [--batch 16] [--len 64] [--steps 2]
import * as tf from '@tensorflow/tfjs-core';
import { cpus, totalmem } from 'node:os';
import { Rng } from '@proj/core';
import { BertForMaskedLM, TfOps, initBackend, resolveBertConfig, setMatMulGradient, type MatMulGradient } from '@proj/models';
import { intFlag } from './int-flag';

const flag = (flagName: string, fallback: number) => intFlag('bert', flagName, fallback);

const batch = flag('batch', 16);
const len = flag('len', 64);
const steps = flag('steps', 2);
// A small BERT with bert-base-chinese's vocabulary (the Gap-ReLM setting); MLM loss at 15% of positions.
const config = resolveBertConfig({ vocabSize: 21128, hiddenSize: 256, numHiddenLayers: 4, numAttentionHeads: 4, intermediateSize: 1024, maxPositionEmbeddings: 128 });

interface Row {
  backend: string;
  grad: MatMulGradient | '-';
  forwardMs: number;
  stepMs: number;
}

function inputs(rng: Rng) {
  const ids = Int32Array.from({ length: batch * len }, () => 5 + rng.int(config.vocabSize - 5));
  const positions = rng.sampleIndices(batch * len, Math.round(0.15 * batch * len)).sort((a, b) => a - b);
  return {
    ids: tf.tensor2d(ids, [batch, len], 'int32'),
    mask: tf.ones([batch, len], 'int32'),
    positions: tf.tensor1d(positions, 'int32'),
    labels: tf.tensor1d(positions.map(() => 5 + rng.int(100)), 'int32'),
  };
}

/** Mean milliseconds of `steps` timed runs after one warm-up run. */
function time(run: () => void): number {
  run();
  const start = performance.now();
  for (let i = 0; i < steps; i++) run();
  return (performance.now() - start) / steps;
}

async function measure(backend: 'cpu' | 'wasm', grads: MatMulGradient[]): Promise<Row[]> {
  const info = await initBackend({ backend });
  console.log(`backend: ${info.name} (${info.detail})`);
  const model = BertForMaskedLM.random(config, new Rng(1));
  const ops = new TfOps(model.params);
  const data = inputs(new Rng(2));
  const forward = () => tf.tidy(() => {
    model.forward(ops, { inputIds: data.ids, attentionMask: data.mask }, { positions: data.positions }).logits!.dataSync();
  });
  const forwardMs = time(forward);
  const rows: Row[] = [];
  for (const grad of grads) {
    setMatMulGradient(grad);
    const step = () => {
      const { value, grads: g } = model.params.grads(() => tf.tidy(() => model.loss(ops, { inputIds: data.ids, attentionMask: data.mask }, data.positions, data.labels) as tf.Scalar));
      value.dataSync();
      tf.dispose([value, ...g.values()]);
    };
    rows.push({ backend, grad, forwardMs, stepMs: time(step) });
    console.log(`  ${backend}, ${grad}: forward ${forwardMs.toFixed(0)} ms, forward+backward ${rows[rows.length - 1].stepMs.toFixed(0)} ms`);
  }
  setMatMulGradient('explicit-transpose');
  tf.dispose(Object.values(data));
  model.dispose();
  return rows;
}

async function main(): Promise<void> {
  const cpu = cpus();
  console.log(`machine: ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, tfjs ${tf.version_core}`);
  console.log(`model: hidden ${config.hiddenSize}, ${config.numHiddenLayers} layers, ${config.numAttentionHeads} heads, ffn ${config.intermediateSize}, vocab ${config.vocabSize}; batch ${batch} x ${len} tokens, MLM at 15% of positions; ${steps} timed steps after 1 warm-up`);
  const rows = [...(await measure('cpu', ['tfjs-flags', 'explicit-transpose'])), ...(await measure('wasm', ['tfjs-flags', 'explicit-transpose']))];
  const base = rows[0];
  const tokens = batch * len;
  const header = '| backend | matMul gradient | forward ms | forward tok/s | fwd+bwd ms | train tok/s | train speed vs baseline |';
  console.log(`\n${header}\n|---|---|---:|---:|---:|---:|---:|`);
  for (const r of rows) {
    const tag = r === base ? ' (baseline)' : '';
    console.log(
      `| ${r.backend} | ${r.grad}${tag} | ${r.forwardMs.toFixed(0)} | ${((tokens / r.forwardMs) * 1000).toFixed(0)} | ${r.stepMs.toFixed(0)} | ${((tokens / r.stepMs) * 1000).toFixed(0)} | ${(base.stepMs / r.stepMs).toFixed(2)}x |`,
    );
  }
}

await main();
