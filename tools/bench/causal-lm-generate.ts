// Greedy generation throughput of the causal LM on tfjs (wasm by default): new tokens/s at batch 1
// and 8, with the KV cache against full recomputation every step (the baseline, same run, same
// random model, same prompts), and the ONNX export with past key/values on onnxruntime-node (CPU,
// 2 threads). Checks that all give the same tokens.
// Run from the repo root: npx tsx tools/bench/causal-lm-generate.ts [--new-tokens 32] [--prompt-length 32] [--backend wasm|cpu]
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Rng } from '@proj/core';
import { CAUSAL_LM_PRESETS, CausalLm, OnnxCausalLmSource, TfCausalLmSource, causalLmToOnnx, initBackend, type BackendChoice } from '@proj/models';
import { generate } from '@proj/sampling';
import { intFlag } from './int-flag';

const newTokens = intFlag('causal-lm-generate', 'new-tokens', 32);
const promptLength = intFlag('causal-lm-generate', 'prompt-length', 32);
const backendAt = process.argv.indexOf('--backend');
const backendChoice = (backendAt >= 0 ? process.argv[backendAt + 1] : 'wasm') as BackendChoice;

async function main(): Promise<void> {
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  const loadBefore = load();
  const backend = await initBackend({ backend: backendChoice });
  const model = CausalLm.random(CAUSAL_LM_PRESETS['cpu-small'], new Rng(1));
  const rng = new Rng(2);
  const rows: string[] = [];
  const onnx = await OnnxCausalLmSource.create(await causalLmToOnnx(model, { kvCache: true, maxLength: promptLength + newTokens + 8 }), model.config, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
  for (const batch of [1, 8]) {
    const prompts = Array.from({ length: batch }, () => Array.from({ length: promptLength }, () => 36 + rng.int(6000)));
    const results: Record<string, { seconds: number; tokens: number[][] }> = {};
    for (const cache of [false, true]) {
      const source = new TfCausalLmSource(model, { cache });
      await generate(prompts, source, { maxNewTokens: 2 }); // warm-up
      const start = performance.now();
      const tokens = await generate(prompts, source, { maxNewTokens: newTokens });
      results[cache ? 'cache' : 'full'] = { seconds: (performance.now() - start) / 1000, tokens };
      source.dispose();
    }
    await generate(prompts, onnx, { maxNewTokens: 2 }); // warm-up
    const start = performance.now();
    const onnxTokens = await generate(prompts, onnx, { maxNewTokens: newTokens });
    results.onnx = { seconds: (performance.now() - start) / 1000, tokens: onnxTokens };
    if (JSON.stringify(results.cache.tokens) !== JSON.stringify(results.full.tokens)) throw new Error(`bench/causal-lm-generate: batch ${batch}: the cache changed the tokens`);
    if (JSON.stringify(results.onnx.tokens) !== JSON.stringify(results.full.tokens)) throw new Error(`bench/causal-lm-generate: batch ${batch}: onnxruntime gave other tokens`);
    const rate = (r: { seconds: number }) => (batch * newTokens) / r.seconds;
    rows.push(`| ${batch} | full recompute (baseline) | ${results.full.seconds.toFixed(2)} | ${rate(results.full).toFixed(1)} | 1.00× |`);
    rows.push(`| ${batch} | KV cache | ${results.cache.seconds.toFixed(2)} | ${rate(results.cache).toFixed(1)} | ${(rate(results.cache) / rate(results.full)).toFixed(2)}× |`);
    rows.push(`| ${batch} | onnxruntime, KV cache (export with past key/values) | ${results.onnx.seconds.toFixed(2)} | ${rate(results.onnx).toFixed(1)} | ${(rate(results.onnx) / rate(results.full)).toFixed(2)}× |`);
  }
  console.log(`command: npx tsx tools/bench/causal-lm-generate.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, node ${process.version}; load average ${loadBefore} before, ${load()} after`);
  console.log(`backend: ${backend.name} (${backend.detail}); model: cpu-small (${model.parameterCount().toLocaleString('en')} parameters, random); greedy, prompts of ${promptLength} tokens, ${newTokens} new tokens; tokens equal with and without the cache and on onnxruntime`);
  console.log('');
  console.log('| batch | run | seconds | new tokens/s | × baseline |');
  console.log('|---:|:---|---:|---:|---:|');
  for (const row of rows) console.log(row);
  await onnx.release();
  model.dispose();
}

await main();
