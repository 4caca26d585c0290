// Where the time of one onnx-engine training step goes: Gap-ReLM joint_finetune at BERT-small size
// (hidden 512, 4 layers, 8 heads, ffn 2048, vocabulary 21,128, batch 8), or MateConv's causal LM
// (--size minimind-26m | cpu-small: batch 8 × 128-token windows of the bundled corpus, minimind's
// tokenizer, as tools/bench/causal-lm-speed.ts), the graph, feeds and host
// state exactly as createOnnxEngine runs a step of one micro-batch
// (packages/models/src/train-engine/onnx-engine.ts): one run of the buildTrainingStep session
// (forward, backward, clipping, AdamW), weights and moments fed from one host copy and written into
// the other (pre-allocated outputs).
//
//   nice -n 5 npx tsx tools/bench/train-step-profile.ts [--steps 3] [--warmup 1] [--threads 2] [--size bert-small|demo|minimind-26m|cpu-small]
//       [--opt-level disabled|basic|extended|all] [--parallel] [--nodes 10]
//     1. per step: batch building, data feeds (int64 ids, dropout masks), the session run, wall
//        and CPU time (all threads), and the bytes the run reads and writes;
//     2. an onnxruntime session profile (enableProfiling) of the training step, aggregated by op
//        type, split into forward / backward ('grad/' nodes) / optimizer ('step/' nodes);
//     3. the forward-only session of the same graph on the same feeds (time and op profile);
//     4. node counts of the forward and the training-step graph by op type.
//     --opt-level and --parallel set the sessions' graphOptimizationLevel and executionMode; --nodes how many
//     of the slowest nodes each profile lists.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { Rng } from '@proj/core';
import { ConfusionSet, ErrorGenerator, defaultSynthConfig } from '@proj/data-synth';
import {
  BertTokenizer,
  CAUSAL_LM_PRESETS,
  CausalLm,
  GapRelm,
  GraphOps,
  TRAINING_STEP_NAMES as N,
  buildCharVocab,
  buildTrainingStep,
  createOpsStageTask,
  batchFeeds,
  graphToOnnx,
  initBackend,
  onlineExamples,
  opsTrainTask,
  type Graph,
  type GraphValue,
  type HostBatch,
} from '@proj/models';
import { causalLmWindowsSpec, corpusTokens } from './causal-lm-windows';
import { intFlag } from './int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const data = (path: string) => join(root, 'apps/gap-relm/data', path);
const flag = (name: string, fallback: number) => intFlag('train-step-profile', name, fallback);
const SEED = 42;
const SIZES = {
  demo: { model: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256 }, batch: 32, vocab: 0 },
  'bert-small': { model: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8, intermediate_size: 2048 }, batch: 8, vocab: 21128 },
} as const;
const CAUSAL_SIZES = ['minimind-26m', 'cpu-small'] as const;
const CAUSAL_SEQ_LEN = 128;
type Size = keyof typeof SIZES | (typeof CAUSAL_SIZES)[number];

const float32 = (d: Float32Array, dims: readonly number[]) => new ort.Tensor('float32', d, dims);
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const ms = (x: number) => x.toFixed(1);
/** CPU time of this process (all its threads), ms. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const bytesOf = (tensors: Record<string, ort.Tensor>) => Object.values(tensors).reduce((s, t) => s + (t.data as ArrayBufferView).byteLength, 0);

type OptLevel = 'disabled' | 'basic' | 'extended' | 'all';
const OPT_LEVELS: readonly OptLevel[] = ['disabled', 'basic', 'extended', 'all'];

async function session(bytes: Uint8Array, threads: number, tuning: { optLevel: OptLevel; parallel: boolean }, profileDir?: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    graphOptimizationLevel: tuning.optLevel,
    executionMode: tuning.parallel ? 'parallel' : 'sequential',
    // As createOnnxSession: idle intra-op threads sleep.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    ...(profileDir ? { enableProfiling: true, profileFilePrefix: join(profileDir, 'ort') } : {}),
  });
}

interface OpRow { op: string; part: string; ms: number; count: number }

/** The slowest single nodes of each profile read, with their output shapes. */
const slowest: { node: string; op: string; ms: number; shape: string }[][] = [];

/** Examples of node names onnxruntime's graph optimizer made (fusions), printed with the profile. */
const fusedNames = new Set<string>();

/**
 * The Node events of onnxruntime's profile: kernel ms per (part, op type), per run, the first
 * run (the warm-up: a fresh session's allocations) left out.
 */
async function readProfile(dir: string, partOf: (node: string) => string): Promise<{ rows: OpRow[]; modelRunMs: number }> {
  const file = (await readdir(dir)).find((f) => f.startsWith('ort') && f.endsWith('.json'));
  if (!file) throw new Error(`train-step-profile: no profile file in ${dir}`);
  const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as { cat: string; name: string; ts: number; dur: number; args?: { op_name?: string } }[];
  const starts = events.filter((e) => e.cat === 'Session' && e.name === 'model_run').map((e) => e.ts).sort((a, b) => a - b);
  if (starts.length < 2) throw new Error(`train-step-profile: the profile has ${starts.length} runs, need a warm-up and at least one more`);
  const runs = starts.length - 1;
  const rows = new Map<string, OpRow>();
  const nodes = new Map<string, { node: string; op: string; ms: number; shape: string }>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name || e.ts < starts[1]) continue;
    const node = e.name.slice(0, -'_kernel_time'.length);
    const one = nodes.get(node) ?? { node, op: e.args.op_name, ms: 0, shape: JSON.stringify((e.args as { output_type_shape?: unknown }).output_type_shape ?? []) };
    one.ms += e.dur / 1000 / (starts.length - 1);
    nodes.set(node, one);
    const part = partOf(node);
    if (part === 'fused/other' && fusedNames.size < 6) fusedNames.add(`${e.args.op_name} '${node}'`);
    const key = `${part}\t${e.args.op_name}`;
    const row = rows.get(key) ?? { op: e.args.op_name, part, ms: 0, count: 0 };
    row.ms += e.dur / 1000 / runs;
    row.count += 1 / runs;
    rows.set(key, row);
  }
  await rm(join(dir, file));
  slowest.push([...nodes.values()].sort((a, b) => b.ms - a.ms).slice(0, flag('nodes', 10)));
  // onnxruntime's own time of a run (inputs checked, kernels, outputs allocated), without the binding's copies.
  const modelRunMs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run' && e.ts >= starts[1]).reduce((s, e) => s + e.dur / 1000, 0) / runs;
  return { rows: [...rows.values()].sort((a, b) => b.ms - a.ms), modelRunMs };
}

function printOps(title: string, rows: OpRow[], top: number): void {
  const total = rows.reduce((s, r) => s + r.ms, 0);
  const byOp = new Map<string, { ms: number; count: number; parts: Map<string, number> }>();
  for (const r of rows) {
    const o = byOp.get(r.op) ?? { ms: 0, count: 0, parts: new Map() };
    o.ms += r.ms;
    o.count += r.count;
    o.parts.set(r.part, (o.parts.get(r.part) ?? 0) + r.ms);
    byOp.set(r.op, o);
  }
  const parts = [...new Set(rows.map((r) => r.part))].sort();
  console.log(`\n${title}: kernel time ${ms(total)} ms per run`);
  for (const p of parts) {
    const t = rows.filter((r) => r.part === p).reduce((s, r) => s + r.ms, 0);
    console.log(`  ${p}: ${ms(t)} ms (${((100 * t) / total).toFixed(0)}%), ${Math.round(rows.filter((r) => r.part === p).reduce((s, r) => s + r.count, 0))} kernels`);
  }
  console.log(`| op type | ms / run | share | kernels / run | ${parts.map((p) => `${p} ms`).join(' | ')} |`);
  console.log(`|---|---:|---:|---:|${parts.map(() => '---:').join('|')}|`);
  for (const [op, o] of [...byOp].sort((a, b) => b[1].ms - a[1].ms).slice(0, top)) {
    console.log(`| ${op} | ${ms(o.ms)} | ${((100 * o.ms) / total).toFixed(1)}% | ${Math.round(o.count)} | ${parts.map((p) => ms(o.parts.get(p) ?? 0)).join(' | ')} |`);
  }
}

function countOps(graph: Graph): Map<string, number> {
  const counts = new Map<string, number>();
  for (const n of graph.nodes) counts.set(n.op, (counts.get(n.op) ?? 0) + 1);
  return counts;
}

/** Gap-ReLM joint_finetune, the model, task and batches of tools/bench/train-engines.ts. */
async function gapRelmTask(size: keyof typeof SIZES, sentences: string[], totalSteps: number) {
  const confusion = await ConfusionSet.fromFiles([data('confusion/same_pinyin.txt'), data('confusion/same_stroke.txt')]);
  const examples = onlineExamples(sentences, new ErrorGenerator(defaultSynthConfig, confusion), defaultSynthConfig.seed);
  const vocab = buildCharVocab(sentences).toText().trimEnd().split('\n');
  for (let i = 0; vocab.length < SIZES[size].vocab; i++) vocab.push(`[unused${i}]`);
  const model = GapRelm.create(SIZES[size].model, BertTokenizer.fromVocabText(`${vocab.join('\n')}\n`), SEED);
  return { model, task: createOpsStageTask('joint_finetune', model, { train: examples, totalSteps }), batchSize: SIZES[size].batch };
}

/** MateConv pretraining: next-token loss on 128-token windows of the corpus (causal-lm-speed.ts's task). */
async function causalLmTask(size: (typeof CAUSAL_SIZES)[number]) {
  const model = CausalLm.random(CAUSAL_LM_PRESETS[size], new Rng(SEED));
  const spec = causalLmWindowsSpec(model, await corpusTokens(), CAUSAL_SEQ_LEN);
  return { model: Object.assign(model, { describe: () => `CausalLm ${size} (${JSON.stringify(CAUSAL_LM_PRESETS[size])})` }), task: opsTrainTask(spec), batchSize: 8 };
}

async function main(): Promise<void> {
  const size = (process.argv.includes('--size') ? process.argv[process.argv.indexOf('--size') + 1] : 'bert-small') as Size;
  if (!(size in SIZES) && !(CAUSAL_SIZES as readonly string[]).includes(size)) throw new RangeError(`train-step-profile: --size must be one of ${[...Object.keys(SIZES), ...CAUSAL_SIZES].join(', ')}`);
  const optLevel = (process.argv.includes('--opt-level') ? process.argv[process.argv.indexOf('--opt-level') + 1] : 'all') as OptLevel;
  if (!OPT_LEVELS.includes(optLevel)) throw new RangeError(`train-step-profile: --opt-level must be one of ${OPT_LEVELS.join(', ')}, got ${optLevel}`);
  const tuning = { optLevel, parallel: process.argv.includes('--parallel') };
  const steps = flag('steps', 3);
  const warmup = flag('warmup', 1);
  const threads = flag('threads', availableParallelism());
  const load0 = loadavg();
  await initBackend({ backend: 'wasm' });

  const sentences = readFileSync(data('corpus/wiki.zh-cn.txt'), 'utf8').split('\n').filter((s) => s.trim() !== '');
  const { model, task, batchSize } = size in SIZES ? await gapRelmTask(size as keyof typeof SIZES, sentences, warmup + steps) : await causalLmTask(size as (typeof CAUSAL_SIZES)[number]);
  const { ops } = task;
  const { store } = ops;
  const names = store.names().filter((n) => task.trainable?.(n) ?? true);
  const shapes = new Map(names.map((n) => [n, store.shape(n)]));
  const params = names.reduce((s, n) => s + shapes.get(n)!.reduce((a, b) => a * b, 1), 0);

  // The graphs, as createOnnxEngine builds them.
  const t = performance.now();
  const g = new GraphOps(store, { dropout: 'inputs' });
  const inputs: Record<string, GraphValue> = {};
  for (const input of ops.inputs) inputs[input.name] = g.input(input.name, input.dtype, input.shape);
  g.output(ops.loss(g, inputs, { rng: new Rng(0) }), 'loss');
  const forward = g.toGraph();
  const stepGraph = buildTrainingStep(forward, { loss: 'loss', trainable: names, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  const values = new Map(await Promise.all(store.names().map(async (n) => [n, await store.toFloat32(n)] as const)));
  const stepBytes = graphToOnnx(stepGraph, { parameters: (n) => values.get(n)!, graphName: 'training_step' });
  const fwdBytes = graphToOnnx(forward, { parameters: (n) => values.get(n)!, graphName: 'forward' });
  const buildMs = performance.now() - t;

  console.log(`train-step-profile: ${model.describe()}`);
  console.log(`  ${size}, batch ${batchSize}, ${names.length} trainable tensors (${params.toLocaleString('en-US')} values, ${mb(params * 4)} MB each of weights / m / v); onnxruntime cpu, ${threads} intra-op threads, graphOptimizationLevel ${tuning.optLevel}, executionMode ${tuning.parallel ? 'parallel' : 'sequential'}; ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'})`);
  console.log(`  graphs recorded + serialized in ${ms(buildMs)} ms: training step ${mb(stepBytes.length)} MB, forward ${mb(fwdBytes.length)} MB`);

  // 4. Node counts.
  const [fc, sc] = [countOps(forward), countOps(stepGraph)];
  const isBackward = (n: string) => n.startsWith('grad/');
  const isOptimizer = (n: string) => n.startsWith('step/') || n.startsWith('updated.');
  console.log(`\nnodes: forward ${forward.nodes.length}, training step ${stepGraph.nodes.length} (backward 'grad/' ${stepGraph.nodes.filter((n) => isBackward(n.name)).length}, clipping + AdamW ${stepGraph.nodes.filter((n) => isOptimizer(n.name)).length})`);
  console.log('| op type | forward | training step | added by backward + optimizer |');
  console.log('|---|---:|---:|---:|');
  for (const [op, n] of [...sc].sort((a, b) => b[1] - a[1])) console.log(`| ${op} | ${fc.get(op) ?? 0} | ${n} | ${n - (fc.get(op) ?? 0)} |`);

  // Host state, as the engine keeps it: two copies of weights, m and v; a run reads one and writes the other.
  const copies = [0, 1].map((k) => {
    const arrays = new Map<string, Float32Array>(names.map((n) => [n, k === 0 ? values.get(n)!.slice() : new Float32Array(values.get(n)!.length)]));
    const tensors = (what: 'w' | 'm' | 'v') => new Map(names.map((n) => [n, float32(what === 'w' ? arrays.get(n)! : new Float32Array(arrays.get(n)!.length), shapes.get(n)!)] as const));
    return { w: tensors('w'), m: tensors('m'), v: tensors('v') };
  });
  let cur = 0;
  let stepNo = 0;
  const batchOf = async (i: number) => {
    const ctx = { epoch: 0, batchIndex: i, step: i, rng: new Rng(SEED * 1000 + i), training: true as const };
    const [b0, bc0] = [performance.now(), cpuMs()];
    const batch: HostBatch = await task.batch(Array.from({ length: batchSize }, (_, k) => (i * batchSize + k) % task.numExamples()), ctx);
    const [b1, bc1] = [performance.now(), cpuMs()];
    const feeds = batchFeeds(ops.inputs, batch, forward, ctx.rng);
    return { batch, feeds, tokens: task.tokens?.(batch) ?? 0, batchMs: b1 - b0, dataFeedMs: performance.now() - b1, batchCpu: bc1 - bc0, dataFeedCpu: cpuMs() - bc1 };
  };
  /** One step's feeds and pre-allocated fetches, from copy `cur` into the other; the copies swap. */
  const stepIo = (data: Record<string, ort.Tensor>) => {
    stepNo += 1;
    const [from, to] = [copies[cur], copies[1 - cur]];
    cur = 1 - cur;
    const feeds: Record<string, ort.Tensor> = { ...data, [N.lr]: float32(Float32Array.of(1e-4), []), [N.biasCorrection1]: float32(Float32Array.of(1 - 0.9 ** stepNo), []), [N.biasCorrection2Sqrt]: float32(Float32Array.of(Math.sqrt(1 - 0.999 ** stepNo)), []) };
    const fetches: Record<string, ort.Tensor | null> = { loss: null, [N.gradNorm]: null };
    for (const n of names) {
      [feeds[n], feeds[N.m(n)], feeds[N.v(n)]] = [from.w.get(n)!, from.m.get(n)!, from.v.get(n)!];
      [fetches[N.updated(n)], fetches[N.updatedM(n)], fetches[N.updatedV(n)]] = [to.w.get(n)!, to.m.get(n)!, to.v.get(n)!];
    }
    return { feeds, fetches };
  };

  // 1. The step, part by part.
  const stepSession = await session(stepBytes, threads, tuning);
  const parts: Record<string, number[]> = {};
  const cpu: Record<string, number[]> = {};
  const add = (k: string, x: number, c = NaN) => {
    (parts[k] ??= []).push(x);
    (cpu[k] ??= []).push(c);
  };
  let io = { in: 0, out: 0 };
  const batches: Awaited<ReturnType<typeof batchOf>>[] = [];
  for (let i = 0; i < warmup + steps; i++) {
    const [s0, c0] = [performance.now(), cpuMs()];
    const b = await batchOf(i);
    batches.push(b);
    const { feeds, fetches } = stepIo(b.feeds);
    const [t1, c1] = [performance.now(), cpuMs()];
    const out = await stepSession.run(feeds, fetches);
    const [t2, c2] = [performance.now(), cpuMs()];
    io = { in: bytesOf(feeds), out: bytesOf(out) };
    if (i < warmup) continue;
    add('batch building (task.batch)', b.batchMs, b.batchCpu);
    add('data feeds (int64 ids, dropout masks)', b.dataFeedMs, b.dataFeedCpu);
    add('training step: session.run (forward, backward, clipping, AdamW)', t2 - t1, c2 - c1);
    add('whole step', t2 - s0, c2 - c0);
    add('tokens', b.tokens);
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const whole = mean(parts['whole step']);
  console.log(`\none optimizer step (grad_accum_steps 1), mean of ${steps} after ${warmup} warm-up; ${Math.round(mean(parts.tokens))} tokens / step -> ${Math.round(mean(parts.tokens) / (whole / 1000))} tokens/s`);
  console.log('| part | ms / step | share | CPU ms (all threads) |');
  console.log('|---|---:|---:|---:|');
  for (const [k, xs] of Object.entries(parts)) if (k !== 'tokens') console.log(`| ${k} | ${ms(mean(xs))} | ${((100 * mean(xs)) / whole).toFixed(1)}% | ${ms(mean(cpu[k]))} |`);
  console.log(`bytes per run: in ${mb(io.in)} MB, out ${mb(io.out)} MB (written into the pre-allocated copies)`);
  await stepSession.release();

  // 2. + 3. Profiles of the training step and of the forward-only session on the same feeds.
  const fwdNodes = new Set(forward.nodes.map((n) => n.name));
  // A fused node keeps the name of the node it started from: 'MatMul_5/MatMulAddFusion/GemmTransposeFusion/'.
  const partOf = (name: string) => {
    const node = name.replace(/\/[A-Za-z]*Fusion.*$/, '');
    return fwdNodes.has(node) ? 'forward' : isBackward(node) ? 'backward' : isOptimizer(node) ? 'optimizer' : 'fused/other';
  };
  const dir = await mkdtemp(join(tmpdir(), 'train-step-profile-'));
  try {
    const profiled = await session(stepBytes, threads, tuning, dir);
    const stepMs: number[] = [];
    // Run 0 (batch 0) is the warm-up: left out of the mean and of the profile.
    for (let i = 0; i < batches.length; i++) {
      const { feeds, fetches } = stepIo(batches[i].feeds);
      const p0 = performance.now();
      await profiled.run(feeds, fetches);
      if (i > 0) stepMs.push(performance.now() - p0);
    }
    profiled.endProfiling();
    await profiled.release();
    const { rows: stepOps, modelRunMs: stepModelRun } = await readProfile(dir, partOf);

    const fwd = await session(fwdBytes, threads, tuning, dir);
    const fwdMs: number[] = [];
    for (let i = 0; i < batches.length; i++) {
      const p0 = performance.now();
      await fwd.run(batches[i].feeds);
      if (i > 0) fwdMs.push(performance.now() - p0);
    }
    fwd.endProfiling();
    await fwd.release();
    const { rows: fwdOps, modelRunMs: fwdModelRun } = await readProfile(dir, () => 'forward');

    console.log(`\nprofiled training-step runs: ${stepMs.map(ms).join(', ')} ms (batches 2.., the first run left out); forward-only session: ${fwdMs.map(ms).join(', ')} ms`);
    const kernel = (rows: OpRow[], part?: string) => rows.filter((r) => part === undefined || r.part === part).reduce((s, r) => s + r.ms, 0);
    const fwdKernel = kernel(fwdOps);
    console.log(`kernel time: training step ${ms(kernel(stepOps))} ms = forward-named ${ms(kernel(stepOps, 'forward'))} + backward ${ms(kernel(stepOps, 'backward'))} + optimizer ${ms(kernel(stepOps, 'optimizer'))} + other ${ms(kernel(stepOps, 'fused/other'))}; forward-only ${ms(fwdKernel)} ms; backward / forward-only = ${(kernel(stepOps, 'backward') / fwdKernel).toFixed(2)}; training step / forward-only (wall) = ${(mean(stepMs) / mean(fwdMs)).toFixed(2)}`);
    console.log('\n| session | wall ms / run (JS) | onnxruntime model_run ms | kernels ms | binding (wall - model_run) | in model_run, not in kernels |');
    console.log('|---|---:|---:|---:|---:|---:|');
    for (const [name, wall, run, rows] of [['training step', mean(stepMs), stepModelRun, stepOps], ['forward only', mean(fwdMs), fwdModelRun, fwdOps]] as const) {
      console.log(`| ${name} | ${ms(wall)} | ${ms(run)} | ${ms(kernel(rows))} | ${ms(wall - run)} | ${ms(run - kernel(rows))} |`);
    }
    printOps('training-step session by op type', stepOps, 16);
    console.log(`fused/other: unattributed node names, e.g. ${[...fusedNames].join(', ')}`);
    printOps('forward-only session by op type', fwdOps, 8);
    for (const [i, title] of ['training step', 'forward only'].entries()) {
      console.log(`\nslowest nodes, ${title}: ${slowest[i].map((n) => `${n.op} '${n.node}' ${ms(n.ms)} ms -> ${n.shape}`).join('; ')}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
    model.dispose();
  }
  console.log(`\npeak RSS ${mb(process.resourceUsage().maxRSS * 1024)} MB; load average ${load0.map((l) => l.toFixed(2)).join(' ')} -> ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
