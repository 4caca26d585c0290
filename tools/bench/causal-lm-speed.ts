// MateConv speed against PyTorch CPU, side by side in one command: the same random model (saved by
// saveCausalLm, loaded by PyTorch as transformers' LlamaForCausalLM), the same batches.
//
//   npx tsx tools/bench/causal-lm-speed.ts [--sizes cpu-small,minimind-26m] [--batch 8] [--seq-len 128]
//       [--steps 4] [--warmup 1] [--new-tokens 32] [--prompt-length 32] [--train-engines onnx,tfjs]
//       [--repeats 3] [--no-train] [--no-generate] [--steps-per-run 1] [--rounds 1]
//
// Pretraining: tokens/s of AdamW steps (lr 5e-4, clipping 1.0) through train() of @proj/trainer on
// the onnxruntime engine (createOnnxEngine, cpu, 2 threads) and the tfjs engine (wasm), on windows
// of the bundled Chinese Wikipedia sentences tokenized with minimind's tokenizer; PyTorch (2
// threads, tools/reference/mateconv_torch.py) runs AdamW with the same settings on the batches the
// onnx run recorded. The first --warmup steps of each are not timed. --steps-per-run K lets the onnx
// engine take K steps per session run (steps_per_run: weights and AdamW moments cross between host
// and onnxruntime once per K steps; --steps and --warmup then multiples of K). --rounds R repeats
// the onnx engine's run and PyTorch's R − 1 more times, back to back, and prints each round's ratio
// and their median (one pair is one sample on a host whose speed drifts).
// Generation: greedy new tokens/s at batch 1 and 8 (equal-length prompts of windows of the same
// corpus): tfjs with and without its KV cache, onnxruntime with the KV cache (the export with past
// key/values) and without it (the same graph on the full sequence every step), the cached export
// with its weight MatMuls in int8 (the session option int8, `mateconv generate --int8`), PyTorch's generate
// with and without its cache. Whether every run gave the same tokens is reported, not required
// (a random model's near-ties may flip between float orders).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@proj/core';
import {
  CAUSAL_LM_PRESETS,
  CausalLm,
  OnnxCausalLmSource,
  TfCausalLmSource,
  causalLmToOnnx,
  createOnnxEngine,
  createOnnxLossSession,
  initBackend,
  loadCausalLm,
  opsTrainTask,
  saveCausalLm,
  type CausalLmPreset,
  type HostBatch,
} from '@proj/models';
import { generate, type CausalBatch, type CausalLogits, type CausalLogitsSource } from '@proj/sampling';
import { train, type TrainEngine } from '@proj/trainer';
import { REFERENCE_PYTHON } from './gap-relm-torch';
import { causalLmWindowsSpec, corpusTokens } from './causal-lm-windows';
import { intFlag, listArg } from './int-flag';

const flag = (name: string, fallback: number) => intFlag('causal-lm-speed', name, fallback);
const SEED = 42;
const THREADS = 2;
const TRAIN = { lr: 5e-4, weight_decay: 0.01, max_grad_norm: 1 };
const REPEATS = flag('repeats', 3);

/** Training steps/s of `engine` on a copy of the saved model; returns tokens/s and the batches fed. */
async function trainRun(modelDir: string, engine: 'onnx' | 'tfjs', corpus: Int32Array, opts: { batch: number; seqLen: number; steps: number; warmup: number; stepsPerRun: number }) {
  console.error(`causal-lm-speed: training on the ${engine} engine`);
  const model = await loadCausalLm(modelDir);
  const { seqLen } = opts;
  const recorded: HostBatch[] = [];
  const spec = causalLmWindowsSpec(model, corpus, seqLen, { onBatch: (b) => recorded.push(b), saveWeights: (dir) => saveCausalLm(model, dir) });
  const task = opsTrainTask(spec);
  const dir = await mkdtemp(join(tmpdir(), `bench-causal-lm-${engine}-`));
  // Where a step's time goes: the engine's micro-step (batch, forward, backward) and optimizer step, per step.
  const parts = { micro: [] as number[], optimizer: [] as number[] };
  const losses: number[] = [];
  const timed = (e: TrainEngine): TrainEngine => {
    const microStep = e.microStep.bind(e);
    const optimizerStep = e.optimizerStep.bind(e);
    return Object.assign(e, {
      microStep: async (...args: Parameters<TrainEngine['microStep']>) => {
        const t = performance.now();
        const r = await microStep(...args);
        parts.micro.push((performance.now() - t) / 1000);
        losses.push(r.loss);
        return r;
      },
      optimizerStep: async (lr: number) => {
        const t = performance.now();
        const r = await optimizerStep(lr);
        parts.optimizer.push((performance.now() - t) / 1000);
        return r;
      },
    });
  };
  const onnxEngine = createOnnxEngine({ executionProviders: ['cpu'], intraOpNumThreads: THREADS });
  try {
    const result = await train(
      { max_steps: opts.warmup + opts.steps, batch_size: opts.batch, optimizer: 'adamw', lr: TRAIN.lr, weight_decay: TRAIN.weight_decay, warmup_steps: 0, schedule: 'constant', max_grad_norm: TRAIN.max_grad_norm, log_every_steps: opts.stepsPerRun, steps_per_run: opts.stepsPerRun, seed: SEED, output_dir: dir },
      task,
      { log: null, engine: engine === 'onnx' ? async (setup) => timed(await onnxEngine(setup)) : undefined },
    );
    // One record per run of --steps-per-run steps (the engine takes them in one call).
    const records = result.history.filter((r) => r.split === 'train');
    let [tokens, seconds] = [0, 0];
    for (const r of records.slice(opts.warmup / opts.stepsPerRun)) {
      const t = opts.batch * seqLen * opts.stepsPerRun;
      tokens += t;
      seconds += t / (r.tokens_per_s as number);
    }
    // The forward alone (the loss graph on onnxruntime, no gradient) on the timed steps' batches.
    let forwardS = NaN;
    if (engine === 'onnx') {
      const lossSession = await createOnnxLossSession(spec, { executionProviders: ['cpu'], intraOpNumThreads: THREADS });
      const timedBatches = recorded.slice(opts.warmup, opts.warmup + opts.steps);
      await lossSession.loss(recorded[0]); // warm-up
      const t = performance.now();
      for (const b of timedBatches) await lossSession.loss(b);
      forwardS = (performance.now() - t) / 1000 / timedBatches.length;
      await lossSession.release();
    }
    const mean = (xs: number[]) => (xs.length <= opts.warmup ? NaN : xs.slice(opts.warmup).reduce((a, b) => a + b, 0) / (xs.length - opts.warmup));
    return { tokens_per_s: tokens / seconds, step_s: seconds / opts.steps, first_loss: losses[0], last_loss: losses.at(-1)!, batches: recorded, micro_s: mean(parts.micro), optimizer_s: mean(parts.optimizer), forward_s: forwardS };
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The KV-cache graph without its cache: the full sequences every step (past of length 0). */
class OnnxNoCacheSource implements CausalLogitsSource {
  readonly vocabSize: number;
  constructor(private readonly onnx: OnnxCausalLmSource) {
    this.vocabSize = onnx.vocabSize;
  }
  async next({ tokens }: CausalBatch): Promise<CausalLogits> {
    const [rows, length, vocab] = [tokens.length, tokens[0].length, this.vocabSize];
    const all = await this.onnx.logitsOf(Int32Array.from(tokens.flat()), rows, length);
    const logits = new Float32Array(rows * vocab);
    for (let b = 0; b < rows; b++) logits.set(all.subarray((b * length + length - 1) * vocab, (b * length + length) * vocab), b * vocab);
    return { logits };
  }
}

interface GenRow {
  batch: number;
  run: string;
  seconds: number;
  rate: number;
  tokens: number[][];
}

/** The median of --repeats timed runs after a short warm-up (the shared machine's load moves). */
async function time(batch: number, run: string, prompts: number[][], source: CausalLogitsSource, newTokens: number): Promise<GenRow> {
  console.error(`causal-lm-speed: generating, batch ${batch}, ${run}`);
  await generate(prompts, source, { maxNewTokens: 2 }); // warm-up
  const times: number[] = [];
  let tokens: number[][] = [];
  // Runs longer than 10 s are timed once: their noise is small against their length.
  for (let r = 0; r < REPEATS && !(times.length > 0 && times[0] > 10); r++) {
    const start = performance.now();
    tokens = await generate(prompts, source, { maxNewTokens: newTokens });
    times.push((performance.now() - start) / 1000);
  }
  const seconds = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
  return { batch, run, seconds, rate: (prompts.length * newTokens) / seconds, tokens };
}

async function generationRuns(model: CausalLm, promptSets: number[][][], newTokens: number): Promise<GenRow[]> {
  const rows: GenRow[] = [];
  const maxLength = promptSets[0][0].length + newTokens + 8;
  const exported = await causalLmToOnnx(model, { kvCache: true, maxLength });
  const onnx = await OnnxCausalLmSource.create(exported, model.config, { executionProviders: ['cpu'], intraOpNumThreads: THREADS });
  // What `mateconv generate --int8` runs: the same graph with its weight MatMuls in int8.
  const int8 = await OnnxCausalLmSource.create(exported, model.config, { executionProviders: ['cpu'], intraOpNumThreads: THREADS, int8: true });
  try {
    for (const prompts of promptSets) {
      const b = prompts.length;
      for (const cache of [true, false]) {
        const source = new TfCausalLmSource(model, { cache });
        rows.push(await time(b, `tfjs ${cache ? 'KV cache' : 'no cache'}`, prompts, source, newTokens));
        source.dispose();
      }
      rows.push(await time(b, 'onnxruntime KV cache', prompts, onnx, newTokens));
      rows.push(await time(b, 'onnxruntime int8, KV cache', prompts, int8, newTokens));
      rows.push(await time(b, 'onnxruntime no cache', prompts, new OnnxNoCacheSource(onnx), newTokens));
    }
  } finally {
    await Promise.all([onnx.release(), int8.release()]);
  }
  return rows;
}

interface TorchResult {
  torch: string;
  omp_wait_policy: string;
  transformers: string;
  threads: number;
  params: number;
  generate: { batch: number; cache: boolean; seconds: number; tokens_per_s: number; tokens: number[][] }[];
  train?: { tokens_per_s: number; step_s: number; forward_s: number; backward_s: number; optimizer_s: number; first_loss: number; last_loss: number };
}

function runTorch(specFile: string): TorchResult | string {
  if (!existsSync(REFERENCE_PYTHON)) return `no ${REFERENCE_PYTHON}`;
  const script = fileURLToPath(new URL('../reference/mateconv_torch.py', import.meta.url));
  const out = spawnSync(REFERENCE_PYTHON, [script, specFile, '--threads', String(THREADS), '--repeats', String(REPEATS)], { encoding: 'utf8', maxBuffer: 1 << 28, input: '' });
  const line = out.stdout.trim().split('\n').at(-1) ?? '';
  if (out.status !== 0 || !line.startsWith('{')) return `failed: ${out.stderr.trim().split('\n').slice(-3).join(' ')}`;
  return JSON.parse(line) as TorchResult;
}

const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

async function main(): Promise<void> {
  const sizes = listArg('causal-lm-speed', 'sizes', Object.keys(CAUSAL_LM_PRESETS) as CausalLmPreset[], ['cpu-small', 'minimind-26m']);
  const opts = { batch: flag('batch', 8), seqLen: flag('seq-len', 128), steps: flag('steps', 4), warmup: flag('warmup', 1), stepsPerRun: flag('steps-per-run', 1) };
  if (opts.steps % opts.stepsPerRun !== 0 || opts.warmup % opts.stepsPerRun !== 0) throw new RangeError(`causal-lm-speed: --steps (${opts.steps}) and --warmup (${opts.warmup}) must be multiples of --steps-per-run (${opts.stepsPerRun})`);
  const [newTokens, promptLength] = [flag('new-tokens', 32), flag('prompt-length', 32)];
  const engines = listArg('causal-lm-speed', 'train-engines', ['onnx', 'tfjs'] as const);
  const rounds = flag('rounds', 1);
  const doTrain = !process.argv.includes('--no-train');
  const doGenerate = !process.argv.includes('--no-generate');
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  const loadBefore = load();
  const backend = await initBackend({ backend: 'wasm' });
  const corpus = await corpusTokens();
  const out: string[] = [];
  for (const size of sizes) {
    const dir = await mkdtemp(join(tmpdir(), `bench-causal-lm-speed-${size}-`));
    try {
      const model = CausalLm.random({ ...CAUSAL_LM_PRESETS[size], max_position_embeddings: Math.max(1024, opts.seqLen) }, new Rng(SEED));
      const modelDir = join(dir, 'model');
      await saveCausalLm(model, modelDir);
      const c = model.config;
      const params = model.parameterCount();
      const rng = new Rng(SEED + 1);
      const promptSets = [1, 8].map((b) => Array.from({ length: b }, () => {
        const start = rng.int(corpus.length - promptLength);
        return Array.from(corpus.subarray(start, start + promptLength));
      }));
      const gen = doGenerate ? await generationRuns(model, promptSets, newTokens) : [];
      model.dispose();
      const trained: Record<string, Awaited<ReturnType<typeof trainRun>>> = {};
      if (doTrain) for (const engine of engines) trained[engine] = await trainRun(modelDir, engine, corpus, opts);
      const recorded = trained.onnx?.batches ?? trained.tfjs?.batches;
      const spec = {
        model_dir: modelDir,
        train: recorded && { ...TRAIN, warmup: opts.warmup, batches: recorded.map((b) => ({ rows: b.input_ids.shape[0], length: b.input_ids.shape[1], inputs: Array.from(b.input_ids.data), targets: Array.from(b.targets.data) })) },
        generate: doGenerate ? promptSets.map((prompts) => ({ prompts, new_tokens: newTokens })) : [],
      };
      const specFile = join(dir, 'spec.json');
      await writeFile(specFile, JSON.stringify(spec));
      const torch = runTorch(specFile);
      const torchOk = typeof torch !== 'string';
      out.push(`### ${size}: hidden ${c.hidden_size}, ${c.num_hidden_layers} layers, ${c.num_attention_heads} heads / ${c.num_key_value_heads} KV heads, SwiGLU ${c.intermediate_size}, vocabulary ${c.vocab_size}, ${params.toLocaleString('en-US')} parameters (random, seed ${SEED})`);
      out.push('');
      if (!torchOk) out.push(`PyTorch: ${torch}`, '');
      else out.push(`PyTorch ${torch.torch}, transformers ${torch.transformers}, ${torch.threads} threads, OMP_WAIT_POLICY=${torch.omp_wait_policy} (LlamaForCausalLM from the saved checkpoint, ${torch.params.toLocaleString('en-US')} parameters)`, '');
      if (doTrain) {
        const base = torchOk && torch.train ? torch.train.tokens_per_s : NaN;
        out.push(`Pretraining: batch ${opts.batch} x ${opts.seqLen} tokens, AdamW lr ${TRAIN.lr}, clipping ${TRAIN.max_grad_norm}; ${opts.steps} timed steps after ${opts.warmup} warm-up`, '');
        out.push('| engine | tokens/s | s/step | of which forward + backward / optimizer (s) | loss first → last | × PyTorch |', '|:---|---:|---:|:---|:---|---:|');
        for (const [engine, r] of Object.entries(trained)) {
          const name = engine === 'onnx' ? `onnxruntime engine (cpu, ${THREADS} threads${opts.stepsPerRun > 1 ? `, ${opts.stepsPerRun} steps per run` : ''})` : `tfjs engine (${backend.name})`;
          const split = Number.isNaN(r.micro_s) ? '' : `${r.micro_s.toFixed(2)} / ${r.optimizer_s.toFixed(2)}${Number.isNaN(r.forward_s) ? '' : ` (forward alone ${r.forward_s.toFixed(2)})`}`;
          out.push(`| ${name} | ${fmt(r.tokens_per_s)} | ${r.step_s.toFixed(2)} | ${split} | ${r.first_loss.toFixed(3)} → ${r.last_loss.toFixed(3)} | ${(r.tokens_per_s / base).toFixed(2)}× |`);
        }
        if (torchOk && torch.train) {
          const t = torch.train;
          out.push(`| PyTorch CPU (${torch.threads} threads), same batches | ${fmt(base)} | ${t.step_s.toFixed(2)} | ${(t.forward_s + t.backward_s).toFixed(2)} / ${t.optimizer_s.toFixed(2)} (forward ${t.forward_s.toFixed(2)}) | ${t.first_loss.toFixed(3)} → ${t.last_loss.toFixed(3)} | 1.00× |`);
        }
        out.push('');
        // More rounds of the onnx engine and PyTorch back to back: a shared host's speed drifts
        // by tens of percent within minutes, so one pair is one sample of the ratio.
        if (rounds > 1 && trained.onnx && torchOk && torch.train) {
          const pairs = [{ onnx: trained.onnx.tokens_per_s, torch: base }];
          for (let round = 2; round <= rounds; round++) {
            const again = await trainRun(modelDir, 'onnx', corpus, opts);
            const roundFile = join(dir, `spec-${round}.json`);
            await writeFile(roundFile, JSON.stringify({ ...spec, generate: [] }));
            const t = runTorch(roundFile);
            if (typeof t === 'string' || !t.train) throw new Error(`causal-lm-speed: PyTorch failed in round ${round}: ${String(t)}`);
            pairs.push({ onnx: again.tokens_per_s, torch: t.train.tokens_per_s });
          }
          const ratios = pairs.map((p) => p.onnx / p.torch);
          const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
          out.push(`Rounds (onnx engine then PyTorch, each ${opts.steps} timed steps): ${pairs.map((p, i) => `${i + 1}: ${fmt(p.onnx)} / ${fmt(p.torch)} tokens/s = ${ratios[i].toFixed(2)}×`).join('; ')}. Median ${median.toFixed(2)}×, mean ${(ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(2)}×, range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×`, '');
        }
      }
      if (doGenerate) {
        out.push(`Generation: greedy, prompts of ${promptLength} tokens, ${newTokens} new tokens per row; seconds = median of ${REPEATS} runs after a warm-up (one run when it takes over 10 s)`, '');
        out.push('| batch | run | seconds | new tokens/s | × PyTorch with cache | same tokens as PyTorch with cache |', '|---:|:---|---:|---:|---:|:---|');
        for (const b of [1, 8]) {
          const ref = torchOk ? torch.generate.find((g) => g.batch === b && g.cache) : undefined;
          const rows: GenRow[] = [...gen.filter((g) => g.batch === b)];
          if (torchOk) for (const g of torch.generate.filter((t) => t.batch === b)) rows.push({ batch: b, run: `PyTorch ${g.cache ? 'KV cache' : 'no cache'}`, seconds: g.seconds, rate: g.tokens_per_s, tokens: g.tokens });
          for (const r of rows) {
            const same = ref === undefined ? '?' : JSON.stringify(r.tokens) === JSON.stringify(ref.tokens) ? 'yes' : `no (${r.tokens.flat().filter((t, k) => t !== ref.tokens.flat()[k]).length} of ${r.tokens.flat().length} differ)`;
            out.push(`| ${b} | ${r.run} | ${r.seconds.toFixed(2)} | ${fmt(r.rate)} | ${ref ? (r.rate / ref.tokens_per_s).toFixed(2) : '?'}× | ${same} |`);
          }
        }
        out.push('');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  console.log(`command: npx tsx tools/bench/causal-lm-speed.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores (shared), node ${process.version}; tfjs ${backend.name} (${backend.detail}); load average ${loadBefore} before, ${load()} after`);
  console.log('');
  for (const line of out) console.log(line);
}

await main();
