// Gap-ReLM joint_finetune on the two training engines of @proj/trainer: tfjs (wasm backend) and
// onnxruntime (createOnnxEngine), same init, same batches, same dropout masks, through train().
//
//   npx tsx tools/bench/train-engines.ts parity [--steps 50] [--repeat-onnx] [--threads N] [--adam-eps X] [--stop-after K]
//     the demo model (hidden 128, 2 layers, 4 heads, ffn 256, P-tuning LSTM, dropout 0.1, batch 32,
//     scheduled sampling ramp 0 -> 0.5): per-step loss and final weights of both engines compared;
//     --repeat-onnx runs the onnx engine a second time to show how far two runs of it drift;
//     --threads sets onnxruntime's intra-op threads (default: the core count); --adam-eps sets the
//     optimizer's eps (a large eps, e.g. 1, makes the update close to SGD with momentum, lr·m, so
//     Adam's m / √v cannot turn a near-zero gradient's float noise into a full-size step);
//     --stop-after K compares the weights after step K of the same run (schedule and batches of --steps).
//   npx tsx tools/bench/train-engines.ts speed [--steps 5] [--warmup 2] [--threads N] [--no-prefetch] [--ss-end P] [--steps-per-run K]
//       [--sizes demo,bert-small] [--rounds N]
//     tokens/s and peak RSS of a joint step at demo size (batch 32) and at BERT-small size (hidden
//     512, 4 layers, 8 heads, ffn 2048, vocabulary 21,128, batch 8) on each engine, each run in
//     its own process so its peak RSS is its own, and PyTorch CPU (2 threads, OMP_WAIT_POLICY=PASSIVE,
//     tools/reference/gap_relm_torch.py, when tools/reference/.venv exists) on the batches the
//     onnx run trained on; the load average before and after. --no-prefetch: the onnx engine builds
//     each batch when its step starts instead of while the previous step runs (same results).
//     --ss-end P: scheduled sampling ramps 0 -> P (default 0.5). Its planner forward on the current
//     weights is batch construction, which the PyTorch reference (fed the recorded batches) does
//     not do; --ss-end 0 times the training step alone on both sides. --steps-per-run K: K steps
//     per onnxruntime run (the trainer's steps_per_run; applies with --ss-end 0), one log per K.
//     --rounds N: the onnx engine and PyTorch N times each, alternated on the same batches (this
//     host's rate drifts by 10-30% within minutes), with the median ratio; --sizes: which sizes.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ConfusionSet, ErrorGenerator, defaultSynthConfig } from '@proj/data-synth';
import { BertTokenizer, GapRelm, buildCharVocab, createOnnxEngine, createOpsStageTask, initBackend, onlineExamples, type GapRelmConfigInput, type HostBatch } from '@proj/models';
import { train, type MetricsRecord } from '@proj/trainer';
import { REFERENCE_PYTHON } from './gap-relm-torch';
import { intFlag, listArg, numberArg } from './int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const data = (path: string) => join(root, 'apps/gap-relm/data', path);
const flag = (name: string, fallback: number) => intFlag('train-engines', name, fallback);
const SEED = 42;

// DEMO_MODEL of apps/gap-relm/src/commands/demo.ts (copied: tools do not import app internals).
const SIZES = {
  demo: { model: { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256 }, batch: 32, vocab: 0 },
  // Batch 8: at 16, tfjs-wasm aborted (out of wasm memory) inside the first step.
  'bert-small': { model: { hidden_size: 512, num_hidden_layers: 4, num_attention_heads: 8, intermediate_size: 2048 }, batch: 8, vocab: 21128 },
} as const satisfies Record<string, { model: GapRelmConfigInput; batch: number; vocab: number }>;
type Size = keyof typeof SIZES;
type Engine = 'tfjs' | 'onnx';

/** The bundled corpus with online errors; a char vocabulary padded with [unusedN] to `vocab` entries when asked. */
async function setup(size: Size) {
  const sentences = readFileSync(data('corpus/wiki.zh-cn.txt'), 'utf8').split('\n').filter((s) => s.trim() !== '');
  const confusion = await ConfusionSet.fromFiles([data('confusion/same_pinyin.txt'), data('confusion/same_stroke.txt')]);
  const examples = onlineExamples(sentences, new ErrorGenerator(defaultSynthConfig, confusion), defaultSynthConfig.seed);
  const vocab = buildCharVocab(sentences).toText().trimEnd().split('\n');
  for (let i = 0; vocab.length < SIZES[size].vocab; i++) vocab.push(`[unused${i}]`);
  return { examples, tokenizer: BertTokenizer.fromVocabText(`${vocab.join('\n')}\n`) };
}

/** `--adam-eps X` of parity (a float), else the trainer's default. */
function adamEps(): number | undefined {
  return numberArg('train-engines', 'adam-eps', { min: 0, exclusiveMin: true });
}

/** `steps` joint_finetune steps of a fresh seeded model on `engine`; the train records and the final weights. */
async function runJoint(size: Size, engine: Engine, steps: number, logEvery: number, extra: Partial<GapRelmConfigInput> = {}, record?: HostBatch[], stepsPerRun = 1) {
  const { examples, tokenizer } = await setup(size);
  const model = GapRelm.create({ ...SIZES[size].model, ...extra }, tokenizer, SEED);
  const dir = await mkdtemp(join(tmpdir(), `bench-train-engines-${engine}-`));
  try {
    const task = createOpsStageTask('joint_finetune', model, { train: examples, totalSteps: steps });
    if (record) {
      const batch = task.batch;
      task.batch = async (indices, ctx) => {
        const b = await batch(indices, ctx);
        record.push(b);
        return b;
      };
    }
    const eps = adamEps();
    const config = { max_steps: steps, steps_per_run: stepsPerRun, batch_size: SIZES[size].batch, lr: 3e-3, warmup_steps: Math.min(10, steps), log_every_steps: logEvery, seed: SEED, output_dir: dir, ...(eps === undefined ? {} : { adam_eps: eps }) };
    const times: number[] = [];
    // CPU seconds of this process (every thread) at each log: steady under other sessions' load, unlike wall time.
    const cpu: number[] = [];
    // parity --stop-after K: the 50-step run (same schedule and batches) stopped after step K.
    const stop = new AbortController();
    const stopAfter = process.argv.includes('--stop-after') ? flag('stop-after', steps) : steps;
    const onLog = () => {
      times.push(performance.now());
      if (times.length >= stopAfter) stop.abort();
      const u = process.cpuUsage();
      cpu.push((u.user + u.system) / 1e6);
    };
    const result = await train(config, task, { log: null, onLog, signal: stop.signal, engine: engine === 'onnx' ? createOnnxEngine({ executionProviders: ['cpu'], intraOpNumThreads: process.argv.includes('--threads') ? flag('threads', 1) : undefined, prefetch: !process.argv.includes('--no-prefetch') }) : undefined });
    const weights = new Map(await Promise.all(model.store.names().map(async (n) => [n, await model.store.toFloat32(n)] as const)));
    const torchModel = { ...SIZES[size].model, vocab_size: tokenizer.vocab.size, max_position_embeddings: model.bertConfig.maxPositionEmbeddings, max_insert_k: model.config.max_insert_k, prompt_length: model.special.prompts, dropout: model.config.dropout };
    return { history: result.history.filter((r: MetricsRecord) => r.split === 'train'), times, cpu, weights, describe: model.describe(), stats: task.stats, torchModel };
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

async function parity(): Promise<void> {
  const steps = flag('steps', 50);
  const backend = await initBackend({ backend: 'wasm' });
  const load0 = loadavg();
  const t0 = performance.now();
  const tfjs = await runJoint('demo', 'tfjs', steps, 1);
  const t1 = performance.now();
  const onnx = await runJoint('demo', 'onnx', steps, 1);
  const t2 = performance.now();
  let lossRel = 0;
  onnx.history.forEach((r, i) => {
    lossRel = Math.max(lossRel, Math.abs((r.loss as number) - (tfjs.history[i].loss as number)) / Math.abs(tfjs.history[i].loss as number));
  });
  // Key biases have a zero gradient in exact arithmetic (softmax ignores a per-query shift): Adam
  // turns each engine's float noise there into lr-sized steps, which change no output.
  const diff = { other: 0, keyBias: 0 };
  const byParam: [string, number, string][] = [];
  for (const [name, w] of onnx.weights) {
    const t = tfjs.weights.get(name)!;
    const key = name.endsWith('attention.self.key.bias') ? 'keyBias' : 'other';
    let [worst, over, median] = [0, 0, 0];
    const d = w.map((x, i) => Math.abs(x - t[i]));
    for (const x of d) [worst, over] = [Math.max(worst, x), over + (x > 1e-4 ? 1 : 0)];
    median = d.sort()[d.length >> 1];
    diff[key] = Math.max(diff[key], worst);
    byParam.push([name, worst, `${over}/${w.length} > 1e-4, median ${median.toExponential(0)}`]);
  }
  const losses = onnx.history.map((r, i) => `${r.step}:${(Math.abs((r.loss as number) - (tfjs.history[i].loss as number)) / Math.abs(tfjs.history[i].loss as number)).toExponential(1)}`);
  console.log(`train-engines parity: ${onnx.describe}`);
  console.log(`  ${steps} joint_finetune steps${process.argv.includes('--stop-after') ? `, stopped after step ${onnx.history.length}` : ''}, batch 32, dropout 0.1, scheduled sampling 0 -> 0.5; tfjs ${backend.name} vs onnxruntime cpu (${availableParallelism()} cores, ${cpus()[0]?.model ?? '?'})`);
  console.log(`  loss step 1 / ${steps}: tfjs ${(tfjs.history[0].loss as number).toFixed(4)} / ${(tfjs.history.at(-1)!.loss as number).toFixed(4)}, onnx ${(onnx.history[0].loss as number).toFixed(4)} / ${(onnx.history.at(-1)!.loss as number).toFixed(4)}`);
  console.log(`  scheduled sampling: tfjs ${JSON.stringify(tfjs.stats)}, onnx ${JSON.stringify(onnx.stats)}`);
  console.log(`  per-step loss, max relative difference: ${lossRel.toExponential(2)} (target < 1e-4)`);
  console.log(`  final weights, max abs difference: ${diff.other.toExponential(2)} (target < 1e-4); attention key biases: ${diff.keyBias.toExponential(2)}`);
  console.log(`  adam_eps ${adamEps() ?? 'default (1e-8)'}; largest weight differences (max abs; elements over 1e-4; median): ${byParam.sort((x, y) => y[1] - x[1]).slice(0, 8).map(([n, d, more]) => `${n} ${d.toExponential(1)} (${more})`).join(', ')}`);
  const overall = byParam.reduce((s, [, , more]) => s + Number(more.split('/')[0]), 0);
  console.log(`  elements over 1e-4 apart: ${overall} of ${[...onnx.weights.values()].reduce((s, w) => s + w.length, 0)}; parameters with none: ${byParam.filter(([, , more]) => more.startsWith('0/')).length} of ${byParam.length}`);
  console.log(`  relative loss difference by step: ${losses.join(' ')}`);
  // What the weight differences change: dev loss and correction F1 of both final models (tfjs, no dropout).
  const { examples, tokenizer } = await setup('demo');
  const judge = GapRelm.create(SIZES.demo.model, tokenizer, SEED);
  const scores: Record<string, Record<string, number>> = {};
  for (const [engine, weights] of [['tfjs', tfjs.weights], ['onnx', onnx.weights]] as const) {
    for (const [name, w] of weights) judge.store.get(name).assign(tf.tensor(w, judge.store.shape(name), 'float32'));
    scores[engine] = await createOpsStageTask('joint_finetune', judge, { train: examples, dev: examples, devEvalLimit: 256 }).evaluate!({ epoch: 0, step: steps });
  }
  judge.dispose();
  console.log(`  the two final models on 256 examples: dev loss tfjs ${scores.tfjs.loss.toFixed(6)} / onnx ${scores.onnx.loss.toFixed(6)} (relative ${(Math.abs(scores.tfjs.loss - scores.onnx.loss) / scores.tfjs.loss).toExponential(2)}), correction F1 ${scores.tfjs.f1.toFixed(4)} / ${scores.onnx.f1.toFixed(4)}`);
  if (process.argv.includes('--repeat-onnx')) {
    // The same onnx run again: how far two runs of one engine drift (onnxruntime's threaded sums need not be bit-stable).
    const again = await runJoint('demo', 'onnx', steps, 1);
    let self = 0;
    for (const [name, w] of again.weights) {
      const o = onnx.weights.get(name)!;
      for (let i = 0; i < w.length; i++) self = Math.max(self, Math.abs(w[i] - o[i]));
    }
    const selfLoss = Math.max(...again.history.map((r, i) => Math.abs((r.loss as number) - (onnx.history[i].loss as number)) / Math.abs(onnx.history[i].loss as number)));
    console.log(`  onnx run twice: loss max relative difference ${selfLoss.toExponential(2)}, weights max abs difference ${self.toExponential(2)}`);
  }
  console.log(`  time: tfjs ${((t1 - t0) / 1000).toFixed(1)} s, onnx ${((t2 - t1) / 1000).toFixed(1)} s; load average ${load0.map((l) => l.toFixed(1)).join(' ')} -> ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

/** One measurement in this process (the child of `speed`): prints one JSON line. */
async function child(size: Size, engine: Engine): Promise<void> {
  const steps = flag('steps', 5);
  const warmup = flag('warmup', 2);
  // --steps-per-run K: K optimizer steps per onnxruntime run where nothing reads the weights in
  // between (not with scheduled sampling on: its batches run the planner); one record per K steps.
  const perRun = flag('steps-per-run', 1);
  if (steps % perRun !== 0 || warmup % perRun !== 0) throw new RangeError(`train-engines: --steps ${steps} and --warmup ${warmup} must be multiples of --steps-per-run ${perRun}`);
  await initBackend({ backend: 'wasm' });
  // One record per K steps; the warm-up records (onnx session warm-up, tfjs kernel set-up) are dropped.
  // A window's tokens = its tokens/s × its time (the time between records, as the record's window).
  const recorded: HostBatch[] = [];
  // --ss-end P: the scheduled-sampling probability at the last step, else the config's default (0.5).
  const ssEnd = numberArg('train-engines', 'ss-end', { min: 0, max: 1 });
  const run = await runJoint(size, engine, warmup + steps, perRun, ssEnd === undefined ? {} : { ss_end: ssEnd }, recorded, perRun);
  let [tokens, seconds] = [0, 0];
  for (let i = warmup / perRun; i < run.history.length; i++) {
    const dt = (run.times[i] - run.times[i - 1]) / 1000;
    tokens += (run.history[i].tokens_per_s as number) * dt;
    seconds += dt;
  }
  const rss = process.resourceUsage().maxRSS / 1024;
  const specFile = process.env.TRAIN_ENGINES_TORCH_SPEC;
  if (specFile) await writeFile(specFile, JSON.stringify(torchSpec(run.torchModel, recorded, warmup)));
  const cpuPerStep = (run.cpu.at(-1)! - run.cpu[warmup / perRun - 1]) / steps;
  console.log(JSON.stringify({ size, engine, tokens_per_s: tokens / seconds, step_s: seconds / steps, cpu_s: cpuPerStep, loss: run.history.at(-1)!.loss, max_rss_mb: rss, describe: run.describe }));
}

/**
 * The spec tools/reference/gap_relm_torch.py trains on: the same model sizes and the very batches
 * the TS run trained on (planner inputs + targets, infiller inputs + gold; scheduled sampling's
 * ignored fills stay ignored, the aux MLM is off in this config).
 */
function torchSpec(model: Record<string, unknown>, batches: HostBatch[], warmup: number) {
  const arr = (b: HostBatch, k: string) => Array.from(b[k].data);
  const padded = (b: HostBatch, p: string) => ({ batch: b[`${p}_input_ids`].shape[0], length: b[`${p}_input_ids`].shape[1], ids: arr(b, `${p}_input_ids`), mask: arr(b, `${p}_attention_mask`) });
  return {
    seed: SEED,
    model,
    train: {
      warmup,
      lr: 3e-3,
      weight_decay: 0.01,
      max_grad_norm: 1,
      batches: batches.map((b) => {
        const planner = padded(b, 'planner');
        const infiller = padded(b, 'infill');
        return {
          tokens: [...planner.mask, ...infiller.mask].reduce((x, y) => x + y, 0),
          planner: { ...planner, types: planner.mask.map(() => 0), op_targets: arr(b, 'op_targets'), insert_targets: arr(b, 'insert_targets') },
          // No infill term where every target is ignored (PyTorch's cross-entropy would give NaN).
          infiller: arr(b, 'infill_labels').every((l) => l === -100) ? null : { ...infiller, types: arr(b, 'infill_token_type_ids'), positions: arr(b, 'infill_positions'), gold: arr(b, 'infill_labels') },
        };
      }),
    },
    infer: [],
  };
}

/** PyTorch CPU (2 threads) on the batches the onnx run recorded, peak RSS from /usr/bin/time; null without the reference venv. */
function runTorch(specFile: string): { tokens_per_s: number; step_s: number; max_rss_mb: number; describe: string } | null {
  if (!existsSync(REFERENCE_PYTHON) || !existsSync('/usr/bin/time')) return null;
  const script = fileURLToPath(new URL('../reference/gap_relm_torch.py', import.meta.url));
  // Idle OpenMP threads sleep: spinning ones made PyTorch's step 0.6-7.7 s on the shared cores.
  const env = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' };
  const out = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb %M', REFERENCE_PYTHON, script, specFile, '--threads', '2', '--repeats', '1'], { encoding: 'utf8', maxBuffer: 1 << 26, env });
  const line = out.stdout.trim().split('\n').at(-1) ?? '';
  const rss = /maxrss_kb (\d+)/.exec(out.stderr);
  if (out.status !== 0 || !line.startsWith('{')) return { tokens_per_s: NaN, step_s: NaN, max_rss_mb: NaN, describe: `failed: ${out.stderr.trim().split('\n').slice(-2).join(' ')}` };
  const r = JSON.parse(line) as { torch: string; threads: number; params: number; train: { tokens_per_s: number; step_ms: number; phase_ms: Record<string, number> } };
  // Where PyTorch's step goes, to set beside train-step-profile.ts's forward / backward / optimizer kernels.
  const phases = Object.entries(r.train.phase_ms).map(([phase, ms]) => `${phase.replaceAll('_', ' ')} ${Math.round(ms)} ms`).join(', ');
  return { tokens_per_s: r.train.tokens_per_s, step_s: r.train.step_ms / 1000, max_rss_mb: rss ? Number(rss[1]) / 1024 : NaN, describe: `PyTorch ${r.torch}, ${r.threads} threads, OMP_WAIT_POLICY=PASSIVE, ${r.params.toLocaleString('en-US')} params; per step: ${phases}` };
}

async function speed(): Promise<void> {
  const load0 = loadavg();
  // --rounds N: the onnx engine and PyTorch N times each, alternated, on the same batches (tfjs-wasm once).
  const rounds = flag('rounds', 1);
  const sizes = listArg('train-engines', 'sizes', Object.keys(SIZES) as Size[]);
  type Row = { size: Size; engine: Engine | 'torch'; round: number; tokens_per_s: number; step_s: number; cpu_s?: number; max_rss_mb: number; describe: string };
  const rows: Row[] = [];
  const work = await mkdtemp(join(tmpdir(), 'bench-train-engines-'));
  for (const size of sizes) {
    const specFile = join(work, `${size}.json`);
    for (const [engine, round] of [['tfjs', 1] as const, ...Array.from({ length: rounds }, (_, r) => ['onnx', r + 1] as const)]) {
      const args = [...process.execArgv, fileURLToPath(import.meta.url), 'child', size, engine, ...process.argv.slice(3)];
      const env = engine === 'onnx' ? { ...process.env, TRAIN_ENGINES_TORCH_SPEC: specFile } : process.env;
      const out = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24, env });
      const line = out.stdout.trim().split('\n').at(-1) ?? '';
      if (out.status !== 0 || !line.startsWith('{')) {
        const reason = out.stderr.split('\n').find((l) => /Error|Abort/.test(l)) ?? `exit ${out.status}`;
        console.error(`train-engines: ${size} on ${engine} failed: ${out.stderr.slice(-1500)}`);
        rows.push({ size, engine, round, tokens_per_s: NaN, step_s: NaN, max_rss_mb: NaN, describe: `failed: ${reason.trim()}` });
        continue;
      }
      rows.push({ ...JSON.parse(line), round });
      console.error(`train-engines: round ${round}: ${line}`);
      // PyTorch right after each onnx run, on the batches that run recorded.
      const torch = engine === 'onnx' && existsSync(specFile) ? runTorch(specFile) : null;
      if (torch) rows.push({ size, engine: 'torch', round, ...torch });
    }
  }
  await rm(work, { recursive: true, force: true });
  console.log(`train-engines speed: Gap-ReLM joint_finetune steps through train(), tfjs-wasm vs onnxruntime cpu; ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'})`);
  for (const r of rows.filter((x) => x.round === 1)) console.log(`${r.size} (batch ${SIZES[r.size].batch}) on ${r.engine}: ${r.describe}`);
  console.log(`| size | engine |${rounds > 1 ? ' round |' : ''} s/step | CPU s/step | tokens/s | vs tfjs-wasm | vs PyTorch | peak RSS MB |`);
  console.log(`|---|---|${rounds > 1 ? '---:|' : ''}---:|---:|---:|---:|---:|---:|`);
  // PyTorch's row of the same size and round (tfjs-wasm's is round 1's).
  const torchOf = (r: Row) => rows.find((x) => x.size === r.size && x.engine === 'torch' && x.round === r.round);
  for (const r of rows) {
    const base = rows.find((x) => x.size === r.size && x.engine === 'tfjs')!;
    const torch = torchOf(r);
    const name = { tfjs: 'tfjs-wasm', onnx: 'onnxruntime', torch: 'PyTorch CPU' }[r.engine];
    console.log(`| ${r.size} | ${name} |${rounds > 1 ? ` ${r.engine === 'tfjs' ? '' : r.round} |` : ''} ${r.step_s.toFixed(2)} | ${r.cpu_s === undefined ? 'n/a' : r.cpu_s.toFixed(2)} | ${Math.round(r.tokens_per_s)} | ${(r.tokens_per_s / base.tokens_per_s).toFixed(2)}x | ${torch ? `${(r.tokens_per_s / torch.tokens_per_s).toFixed(2)}x` : 'n/a'} | ${Math.round(r.max_rss_mb)} |`);
  }
  if (rounds > 1) {
    for (const size of sizes) {
      const ratios = rows.filter((r) => r.size === size && r.engine === 'onnx').map((r) => r.tokens_per_s / (torchOf(r)?.tokens_per_s ?? NaN)).filter(Number.isFinite);
      const sorted = [...ratios].sort((a, b) => a - b);
      const median = sorted.length % 2 ? sorted[(sorted.length - 1) / 2] : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
      console.log(`${size}: onnxruntime × PyTorch over ${ratios.length} rounds: median ${median.toFixed(2)}x, range ${sorted[0]?.toFixed(2)}–${sorted.at(-1)?.toFixed(2)}x`);
    }
  }
  console.log(`load average ${load0.map((l) => l.toFixed(1)).join(' ')} -> ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

const [mode, size, engine] = process.argv.slice(2);
const main = mode === 'parity' ? parity() : mode === 'speed' ? speed() : mode === 'child' ? child(size as Size, engine as Engine) : Promise.reject(new Error(`usage: npx tsx tools/bench/train-engines.ts parity|speed [--steps N] [--warmup N]; got ${JSON.stringify(mode)}`));
main.catch((error) => {
  console.error(error);
  process.exit(1);
});
