// SGDD speed, side by side in one command, at the full decoder (hidden 512, 6 layers, 8 heads,
// FFN 2048) and the small CPU one (hidden 128, 2 layers, 4 heads, FFN 512), vocabulary 21,128,
// random weights (speed does not depend on them):
//
//   sampling: 16-step guided MaskGIT (w = 2: a conditional and an unconditional pass per step)
//     through sampleSgdd, on onnxruntime (the exported decoder: both passes in one run over 2B
//     rows, logits at the masked positions only) and tfjs-wasm (the same calls on tfjs): seconds
//     per sentence at batch 1 and sentences/s at batch --batch (32; tfjs at the full size:
//     --tfjs-batch, 8, or it takes many minutes). Rows of --len tokens ([CLS] and [SEP] fixed).
//     Also the onnxruntime decoder with its weight MatMuls in int8 (createOnnxSession's int8, what
//     `sgdd sample --int8` runs), and both without the graph's argmax head (onnx-logits,
//     onnx-int8-logits: the logits come to the host, which picks the candidates);
//     --engines onnx,onnx-logits,onnx-int8,onnx-int8-logits,tfjs picks the rows.
//   training: steps of createSgddOpsTask through train() of @proj/trainer on the onnx engine and
//     the tfjs engine (wasm), each in its own process (peak RSS its own), then PyTorch CPU (2
//     threads, OMP_WAIT_POLICY=PASSIVE, tools/reference/sgdd_torch.py) on the very batches the
//     onnx run trained on, from the same initial weights (its logits are checked against the TS
//     forward first). Tokens/s counts non-padding tokens over the steps after the warm-up.
//
//   variants (not in all): the onnxruntime decode four ways, to see what each sampling change is
//     worth: full logits and a run per guidance pass (the first version), masked positions only,
//     both passes in one run, then the argmax and its log-probability picked in the graph.
//   ablate --model <dir> --data <prepared dir> (not in all): `sgdd eval` of a trained model at
//     guidance w = 0, 1, 2, 3 (16 steps) and 4, 8 steps (w = 2), one process each.
//
// Sizes: small, full, and h512x2 (the phase-1 runs' decoder: hidden 512, 2 layers).
// Run from the repo root: npx tsx tools/bench/sgdd.ts [all|sample|train|variants|ablate] [--size small|full|h512x2|both|a,b]
//   [--engines onnx,onnx-logits,onnx-int8,onnx-int8-logits,tfjs]
//   [--len 32] [--steps 16] [--runs 2] [--batch 32] [--tfjs-batch 8] [--train-steps 4] [--train-warmup 2]
//   [--model M --data D --samples 100 --loss-limit 300 --engine auto] (ablate)
// The load average (uptime) is printed before and after: on shared cores the absolute numbers move
// with it; the ratios in one run are the usable part.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import {
  OnnxSgddDenoiser,
  SMALL_SGDD_CONFIG,
  SgddDenoiser,
  SgddModel,
  TfOps,
  createOnnxEngine,
  createOnnxSession,
  createSgddOpsTask,
  initBackend,
  makeSgddBatch,
  parseSgddConfig,
  sampleSgdd,
  saveSgdd,
  sgddDecoderToOnnx,
  type HostBatch,
  type SgddConfig,
} from '@proj/models';
import type { DenoiserLogitsSource } from '@proj/sampling';
import { train, type MetricsRecord } from '@proj/trainer';
import { REFERENCE_PYTHON } from './gap-relm-torch';
import { intFlag } from './int-flag';

const flag = (name: string, fallback: number) => intFlag('sgdd', name, fallback);
const SEED = 42;
const VOCAB = 21128;
const SIZES = {
  small: { model: SMALL_SGDD_CONFIG, trainBatch: 32, tfjsBatch: 32 },
  // Batch 8 in training: tfjs-wasm ran out of memory at BERT-small size from batch 16 (train-engines).
  full: { model: {}, trainBatch: 8, tfjsBatch: 8 },
  // The decoder the phase-1 runs train (apps/sgdd/configs/phase1-h512-long.yaml): full width, 2 layers.
  h512x2: { model: { num_hidden_layers: 2 }, trainBatch: 32, tfjsBatch: 8 },
} as const;
type Size = keyof typeof SIZES;
const configOf = (size: Size): SgddConfig => parseSgddConfig({ ...SIZES[size].model, vocab_size: VOCAB, dropout: 0.1 });
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
/** The command line from its first --flag on (what a child process is passed). */
function flagArgs(): string[] {
  const first = process.argv.findIndex((a, i) => i >= 2 && a.startsWith('--'));
  return first < 0 ? [] : process.argv.slice(first);
}
const argAfter = (name: string) => (process.argv.includes(`--${name}`) ? process.argv[process.argv.indexOf(`--${name}`) + 1] : undefined);

// ---- sampling ----

/** CPU seconds of this process so far (every thread): what the work costs whoever else shares the cores. */
const cpuSeconds = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/**
 * Mean wall and CPU seconds of one guided decode of `batch` rows, over `runs` timed runs (after
 * one warm-up run when `warm`).
 */
async function timeDecode(make: (vectors: Float32Array[]) => DenoiserLogitsSource & { readonly config: SgddConfig }, config: SgddConfig, batch: number, len: number, steps: number, runs: number, warm: boolean): Promise<{ wall: number; cpu: number }> {
  const rng = new Rng(3);
  const vectors = Array.from({ length: batch }, () => Float32Array.from({ length: config.semantic_size }, () => rng.normal()));
  const decode = () => sampleSgdd(make(vectors), new Array<number>(batch).fill(len), { steps, guidance: 2 });
  if (warm) await decode();
  const [start, cpu] = [performance.now(), cpuSeconds()];
  for (let i = 0; i < runs; i++) await decode();
  return { wall: (performance.now() - start) / 1000 / runs, cpu: (cpuSeconds() - cpu) / runs };
}

interface SampleRow {
  size: Size;
  engine: string;
  /** Seconds per sentence at batch 1 (wall), and CPU seconds per sentence. */
  batch1: number;
  cpu1: number;
  big: number;
  /** Sentences per second at batch `big` (wall), and CPU seconds per sentence. */
  batchN: number;
  cpuN: number;
}

/** The decoder without its argmax head: logits at the masked positions come to the host, which picks the candidates (as before the head). */
function hostArgmax(s: OnnxSgddDenoiser): DenoiserLogitsSource & { config: SgddConfig } {
  return { config: s.config, vocabSize: s.vocabSize, maskId: s.maskId, padId: s.padId, denoise: (b) => s.denoise(b), denoiseAt: (step, positions, passes) => s.denoiseAt(step, positions, passes) };
}

async function sampling(sizes: Size[]): Promise<SampleRow[]> {
  const [len, steps, runs, batch] = [flag('len', 32), flag('steps', 16), flag('runs', 2), flag('batch', 32)];
  const info = await initBackend({ backend: 'wasm' });
  const rows: SampleRow[] = [];
  for (const size of sizes) {
    const config = configOf(size);
    const model = SgddModel.random(config, new Rng(1));
    const exported = await sgddDecoderToOnnx(model);
    const { session, provider, intraOpNumThreads } = await createOnnxSession(exported, { executionProviders: ['cpu'] });
    console.error(`sgdd sample ${size}: ${model.params.count().toLocaleString('en-US')} parameters; onnxruntime ${provider}, ${intraOpNumThreads} threads; tfjs ${info.name} (${info.detail}); len ${len}, ${steps} steps, w = 2`);
    const int8 = await createOnnxSession(exported, { executionProviders: ['cpu'], int8: true });
    const tfjsBatch = size === 'small' ? batch : flag('tfjs-batch', SIZES[size].tfjsBatch);
    const engines = (argAfter('engines') ?? 'onnx,onnx-logits,onnx-int8,onnx-int8-logits,tfjs').split(',');
    for (const [key, engine, make, big] of [
      ['onnx', 'onnxruntime', (v: Float32Array[]) => new OnnxSgddDenoiser(session, config, v), batch],
      ['onnx-logits', 'onnxruntime, argmax on the host', (v: Float32Array[]) => hostArgmax(new OnnxSgddDenoiser(session, config, v)), batch],
      ['onnx-int8', 'onnxruntime int8', (v: Float32Array[]) => new OnnxSgddDenoiser(int8.session, config, v), batch],
      ['onnx-int8-logits', 'onnxruntime int8, argmax on the host', (v: Float32Array[]) => hostArgmax(new OnnxSgddDenoiser(int8.session, config, v)), batch],
      ['tfjs', `tfjs-${info.name}`, (v: Float32Array[]) => new SgddDenoiser(model, v), tfjsBatch],
    ] as const) {
      if (!engines.includes(key)) continue;
      const one = await timeDecode(make, config, 1, len, steps, runs, true);
      // One timed run at the large batch, no warm-up of its own: the batch-1 runs warmed the kernels.
      const many = await timeDecode(make, config, big, len, steps, 1, false);
      const row = { size, engine, batch1: one.wall, cpu1: one.cpu, big, batchN: big / many.wall, cpuN: many.cpu / big };
      rows.push(row);
      console.error(`sgdd sample ${size} ${engine}: ${row.batch1.toFixed(3)} s / sentence at batch 1 (CPU ${row.cpu1.toFixed(3)} s), ${row.batchN.toFixed(2)} sentences / s at batch ${big} (CPU ${row.cpuN.toFixed(3)} s / sentence) (load ${load()})`);
    }
    await Promise.all([session.release(), int8.session.release()]);
    model.dispose();
  }
  return rows;
}

// ---- training ----

/** `n` synthetic rows ([CLS] ids [SEP], 8..40 tokens: the bundled sentences' range) and vectors. */
function syntheticExamples(config: SgddConfig, n: number) {
  const rng = new Rng(SEED);
  const rows = Array.from({ length: n }, () => Int32Array.from([config.cls_token_id, ...Array.from({ length: 6 + rng.int(33) }, () => 104 + rng.int(config.vocab_size - 104)), config.sep_token_id]));
  const vectors = rows.map(() => Float32Array.from({ length: config.semantic_size }, () => rng.normal()));
  return { rows, vectors };
}

const hostArray = (b: HostBatch, k: string) => Array.from(b[k].data as ArrayLike<number>);

/** One batch as sgdd_torch.py reads it. */
function torchBatch(b: HostBatch) {
  const [batch, length] = b.input_ids.shape;
  return { batch, length, ...Object.fromEntries(['input_ids', 'attention_mask', 'timesteps', 'semantic', 'condition', 'positions', 'targets'].map((k) => [k, hostArray(b, k)])) };
}

/** The TS forward's logits at the first positions of a seeded batch (eval mode), for the reference to match. */
function checkBatch(model: SgddModel) {
  const { rows, vectors } = syntheticExamples(model.config, 4);
  const b = makeSgddBatch(rows, vectors, model.config, new Rng(7));
  const positions = b.positions.slice(0, 3);
  const logits = tf.tidy(() => {
    const { logits } = model.forward(
      new TfOps(model.params),
      {
        inputIds: tf.tensor2d(b.inputIds, [b.batch, b.length], 'int32'),
        attentionMask: tf.tensor2d(b.attentionMask, [b.batch, b.length], 'int32'),
        timesteps: tf.tensor1d(b.timesteps, 'int32'),
        semantic: tf.tensor2d(b.semantic, [b.batch, model.config.semantic_size]),
        condition: tf.tensor1d(b.condition),
      },
      { positions: tf.tensor1d(positions, 'int32') },
    );
    return Array.from(logits!.dataSync());
  });
  return { batch: b.batch, length: b.length, input_ids: [...b.inputIds], attention_mask: [...b.attentionMask], timesteps: [...b.timesteps], semantic: [...b.semantic], condition: [...b.condition], positions: [...positions], logits };
}

/** The child process of `training`: `steps` steps on one engine; prints one JSON line; the onnx run writes the PyTorch spec. */
async function trainChild(size: Size, engine: 'tfjs' | 'onnx'): Promise<void> {
  const [steps, warmup] = [flag('train-steps', 4), flag('train-warmup', 2)];
  await initBackend({ backend: 'wasm' });
  const config = configOf(size);
  const model = SgddModel.random(config, new Rng(SEED));
  const dir = await mkdtemp(join(tmpdir(), `bench-sgdd-${engine}-`));
  const specFile = process.env.SGDD_TORCH_SPEC;
  try {
    if (specFile) await saveSgdd(model, dir); // PyTorch starts from these weights
    const check = specFile ? checkBatch(model) : null;
    const task = createSgddOpsTask(model, { phase: 'reconstruction', train: syntheticExamples(config, 512) });
    const recorded: HostBatch[] = [];
    const batch = task.batch;
    task.batch = async (indices, ctx) => {
      const b = await batch(indices, ctx);
      recorded.push(b);
      return b;
    };
    const [times, cpu]: number[][] = [[], []];
    const lr = 1e-3;
    const result = await train(
      { max_steps: warmup + steps, batch_size: SIZES[size].trainBatch, lr, warmup_steps: 1, log_every_steps: 1, seed: SEED, output_dir: join(dir, 'run') },
      task,
      { log: null, onLog: () => (times.push(performance.now()), cpu.push(cpuSeconds())), engine: engine === 'onnx' ? createOnnxEngine({ executionProviders: ['cpu'] }) : undefined },
    );
    const history = result.history.filter((r: MetricsRecord) => r.split === 'train');
    let [tokens, seconds] = [0, 0];
    for (let i = warmup; i < history.length; i++) {
      const dt = (times[i] - times[i - 1]) / 1000;
      tokens += (history[i].tokens_per_s as number) * dt;
      seconds += dt;
    }
    if (specFile) {
      const weights = join(dir, 'model.safetensors');
      await writeFile(specFile, JSON.stringify({ seed: SEED, model: config, weights, check, train: { warmup, lr, weight_decay: 0.01, max_grad_norm: 1, batches: recorded.map(torchBatch) } }));
      // The weights file must outlive this process: the parent runs PyTorch on it, then removes `dir`.
      console.log(JSON.stringify({ keep: dir }));
    }
    console.log(JSON.stringify({ size, engine, tokens_per_s: tokens / seconds, step_s: seconds / steps, cpu_s: (cpu.at(-1)! - cpu[warmup - 1]) / steps, loss: history.at(-1)!.loss, max_rss_mb: process.resourceUsage().maxRSS / 1024, params: model.params.count() }));
    if (!specFile) await rm(dir, { recursive: true, force: true });
  } finally {
    model.dispose();
  }
}

interface TrainRow {
  size: Size;
  engine: 'tfjs' | 'onnx' | 'torch';
  tokens_per_s: number;
  step_s: number;
  /** CPU seconds per step (every thread); null where it failed. */
  cpu_s: number | null;
  max_rss_mb: number;
  note: string;
}

/**
 * PyTorch CPU (2 threads) on the spec; peak RSS from /usr/bin/time; null without the reference venv.
 * OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads sleep instead of spinning, as onnxruntime's do here
 * (allow_spinning 0); spinning made PyTorch's steps 3-6x slower while other jobs shared the 2 cores.
 */
function runTorch(size: Size, specFile: string): TrainRow | null {
  if (!existsSync(REFERENCE_PYTHON) || !existsSync('/usr/bin/time')) return null;
  const script = fileURLToPath(new URL('../reference/sgdd_torch.py', import.meta.url));
  const env = { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' };
  const out = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb %M', REFERENCE_PYTHON, script, specFile, '--threads', '2'], { encoding: 'utf8', maxBuffer: 1 << 26, env });
  const line = out.stdout.trim().split('\n').at(-1) ?? '';
  const rss = /maxrss_kb (\d+)/.exec(out.stderr);
  if (out.status !== 0 || !line.startsWith('{')) return { size, engine: 'torch', tokens_per_s: NaN, step_s: NaN, cpu_s: null, max_rss_mb: NaN, note: `failed: ${out.stderr.trim().split('\n').slice(-2).join(' ')}` };
  const r = JSON.parse(line) as { torch: string; threads: number; params: number; check: { max_abs_diff: number; rows: number }; train: { tokens_per_s: number; step_ms: number; cpu_s_per_step: number } };
  const note = `PyTorch ${r.torch}, ${r.threads} threads (OMP_WAIT_POLICY=PASSIVE), ${r.params.toLocaleString('en-US')} params; logits vs the TS forward at ${r.check.rows} positions: max |diff| ${r.check.max_abs_diff.toExponential(1)}`;
  return { size, engine: 'torch', tokens_per_s: r.train.tokens_per_s, step_s: r.train.step_ms / 1000, cpu_s: r.train.cpu_s_per_step, max_rss_mb: rss ? Number(rss[1]) / 1024 : NaN, note };
}

async function training(sizes: Size[]): Promise<TrainRow[]> {
  const rows: TrainRow[] = [];
  const work = await mkdtemp(join(tmpdir(), 'bench-sgdd-'));
  for (const size of sizes) {
    const specFile = join(work, `${size}.json`);
    let keep: string | undefined;
    for (const engine of ['tfjs', 'onnx'] as const) {
      const args = [...process.execArgv, fileURLToPath(import.meta.url), 'child', size, engine, ...flagArgs()];
      const env = engine === 'onnx' ? { ...process.env, SGDD_TORCH_SPEC: specFile } : process.env;
      const out = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 24, env });
      const lines = out.stdout.trim().split('\n').filter((l) => l.startsWith('{'));
      const result = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      keep = (result.find((r) => 'keep' in r)?.keep as string | undefined) ?? keep;
      const row = result.find((r) => 'engine' in r);
      if (out.status !== 0 || !row) {
        const reason = out.stderr.split('\n').find((l) => /Error|Abort/.test(l)) ?? `exit ${out.status}`;
        console.error(`sgdd train ${size} on ${engine} failed: ${out.stderr.slice(-1500)}`);
        rows.push({ size, engine, tokens_per_s: NaN, step_s: NaN, cpu_s: null, max_rss_mb: NaN, note: `failed: ${reason.trim()}` });
        continue;
      }
      rows.push({ size, engine, tokens_per_s: row.tokens_per_s as number, step_s: row.step_s as number, cpu_s: row.cpu_s as number, max_rss_mb: row.max_rss_mb as number, note: `${(row.params as number).toLocaleString('en-US')} params, loss ${(row.loss as number).toFixed(3)}` });
      console.error(`sgdd train ${size} ${engine}: ${JSON.stringify(row)} (load ${load()})`);
    }
    if (existsSync(specFile)) {
      const torch = runTorch(size, specFile);
      if (torch) {
        rows.push(torch);
        console.error(`sgdd train ${size} torch: ${torch.tokens_per_s.toFixed(0)} tokens/s; ${torch.note} (load ${load()})`);
      }
    }
    if (keep) await rm(keep, { recursive: true, force: true });
  }
  await rm(work, { recursive: true, force: true });
  return rows;
}

// ---- what each sampling change is worth (onnxruntime) ----

/**
 * The same guided decode on onnxruntime four ways: full [B, L, V] logits with a session run per
 * guidance pass (the first version), logits at the masked positions with a run per pass, at the
 * masked positions with both passes in one run over 2B rows, and that run returning each masked
 * position's argmax and log-probability instead of its logits (what argmax sampling does now).
 */
async function variants(sizes: Size[]): Promise<void> {
  const [len, steps, runs, batch] = [flag('len', 32), flag('steps', 16), flag('runs', 2), flag('batch', 32)];
  await initBackend({ backend: 'cpu' });
  const load0 = load();
  const lines: string[] = [];
  for (const size of sizes) {
    const config = configOf(size);
    const model = SgddModel.random(config, new Rng(1));
    const { session } = await createOnnxSession(await sgddDecoderToOnnx(model), { executionProviders: ['cpu'] });
    const kinds: [string, (v: Float32Array[]) => DenoiserLogitsSource & { config: SgddConfig }][] = [
      ['full logits, a run per pass', (v) => {
        const s = new OnnxSgddDenoiser(session, config, v);
        return { config, vocabSize: s.vocabSize, maskId: s.maskId, padId: s.padId, denoise: (b) => s.denoise(b) };
      }],
      ['masked positions, a run per pass', (v) => {
        const s = new OnnxSgddDenoiser(session, config, v);
        return { config, vocabSize: s.vocabSize, maskId: s.maskId, padId: s.padId, denoise: (b) => s.denoise(b), denoiseAt: async (step, positions, passes) => { const out: Float32Array[] = []; for (const p of passes) out.push(...(await s.denoiseAt(step, positions, [p]))); return out; } };
      }],
      ['masked positions, both passes in one run', (v) => hostArgmax(new OnnxSgddDenoiser(session, config, v))],
      ['+ argmax and its log-probability in the graph', (v) => new OnnxSgddDenoiser(session, config, v)],
    ];
    for (const [kind, make] of kinds) {
      const one = await timeDecode(make, config, 1, len, steps, runs, true);
      const many = await timeDecode(make, config, batch, len, steps, 1, false);
      const line = `| ${size} | ${kind} | ${one.wall.toFixed(3)} (${one.cpu.toFixed(3)}) | ${(batch / many.wall).toFixed(2)} (${(many.cpu / batch).toFixed(3)}) |`;
      lines.push(line);
      console.error(`sgdd variants: ${line} (load ${load()})`);
    }
    await session.release();
    model.dispose();
  }
  console.log(`sgdd variants: onnxruntime, ${steps} steps, w = 2, rows of ${len} tokens; load average ${load0} -> ${load()}`);
  console.log(`| size | decoder calls | s / sentence, batch 1 (CPU s) | sentences / s, batch ${batch} (CPU s / sentence) |`);
  console.log('|---|---|---:|---:|');
  for (const l of lines) console.log(l);
}

// ---- ablation ----

/**
 * `sgdd eval` of a trained model over the guidance grid (w = 0, 1, 2, 3 at 16 steps) and the steps
 * grid (4, 8, 16 at w = 2), each in its own process on --engine (default auto): exact match, BLEU
 * against the reference, and the decode time of --samples dev sentences.
 */
async function ablation(): Promise<void> {
  const [model, data] = [argAfter('model'), argAfter('data')];
  if (!model || !data) throw new Error('usage: npx tsx tools/bench/sgdd.ts ablate --model <dir> --data <prepared dir> [--samples 100] [--loss-limit 300] [--engine auto]');
  const cli = fileURLToPath(new URL('../../apps/sgdd/src/cli.ts', import.meta.url));
  const grid = [...[0, 1, 2, 3].map((w) => [w, 16]), [2, 8], [2, 4]];
  const load0 = load();
  const rows: string[] = [];
  for (const [w, steps] of grid) {
    const args = [...process.execArgv, cli, 'eval', '--model', model, '--data', data, '--samples', String(flag('samples', 100)), '--loss-limit', String(flag('loss-limit', 300)), '--steps', String(steps), '--guidance', String(w), '--engine', argAfter('engine') ?? 'auto', '--no-progress'];
    const out = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (out.status !== 0) throw new Error(`bench/sgdd ablate: sgdd eval (w = ${w}, ${steps} steps) failed: ${out.stderr.trim().split('\n').at(-1)}`);
    const r = JSON.parse(out.stdout) as { loss: number; loss_unconditional: number; exact_match: number; bleu_reference: number; decoded: number; sampling: { engine: string; seconds: number; sentences_per_s: number } };
    const row = `| ${w} | ${steps} | ${(100 * r.exact_match).toFixed(1)}% | ${r.bleu_reference.toFixed(2)} | ${r.sampling.seconds.toFixed(1)} | ${r.sampling.sentences_per_s.toFixed(2)} | ${r.sampling.engine} | ${r.loss.toFixed(3)} / ${r.loss_unconditional.toFixed(3)} |`;
    rows.push(row);
    console.error(`sgdd ablate: ${row} (load ${load()})`);
  }
  console.log(`sgdd ablate ${model} on ${data} (dev, ${flag('samples', 100)} sentences decoded, argmax); load average ${load0} -> ${load()}`);
  console.log('| guidance w | steps | exact match | BLEU vs reference | decode s | sentences / s | engine | dev loss / with the null vector |');
  console.log('|---:|---:|---:|---:|---:|---:|---|---|');
  for (const r of rows) console.log(r);
}

// ---- the command ----

async function main(): Promise<void> {
  const [mode = 'all', size, engine] = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
  if (mode === 'child') return trainChild(size as Size, engine as 'tfjs' | 'onnx');
  if (mode === 'ablate') return ablation();
  if (!['all', 'sample', 'train', 'variants'].includes(mode)) throw new Error(`usage: npx tsx tools/bench/sgdd.ts [all|sample|train|variants|ablate] [--size small|full|both] ...; got ${JSON.stringify(mode)}`);
  const which = argAfter('size') ?? 'both';
  const sizes: Size[] = which === 'both' ? ['small', 'full'] : (which.split(',') as Size[]);
  if (!sizes.every((s) => s in SIZES)) throw new Error(`bench/sgdd: --size must be small, full, h512x2, a comma-separated list of them, or both, got ${which}`);
  if (mode === 'variants') return variants(sizes);
  const load0 = load();
  const started = new Date().toISOString();
  const sampled = mode === 'train' ? [] : await sampling(sizes);
  const trained = mode === 'sample' ? [] : await training(sizes);
  console.log(`sgdd bench ${started}: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), Node ${process.versions.node}; load average ${load0} -> ${load()}`);
  if (sampled.length) {
    console.log(`\nSampling: sampleSgdd, ${flag('steps', 16)} MaskGIT steps, w = 2, rows of ${flag('len', 32)} tokens, argmax`);
    console.log('| size | engine | s / sentence, batch 1 (CPU s) | sentences / s, batch N (CPU s / sentence) | N | speed-up (batch 1, batch N) |');
    console.log('|---|---|---:|---:|---:|---|');
    for (const r of sampled) {
      // Ratios against tfjs, or against float onnxruntime when tfjs did not run (--engines).
      const base = sampled.find((x) => x.size === r.size && x.engine.startsWith('tfjs')) ?? sampled.find((x) => x.size === r.size && x.engine === 'onnxruntime') ?? r;
      console.log(`| ${r.size} | ${r.engine} | ${r.batch1.toFixed(3)} (${r.cpu1.toFixed(3)}) | ${r.batchN.toFixed(2)} (${r.cpuN.toFixed(3)}) | ${r.big} | ${(base.batch1 / r.batch1).toFixed(2)}x, ${(r.batchN / base.batchN).toFixed(2)}x vs ${base.engine} |`);
    }
  }
  if (trained.length) {
    console.log(`\nTraining: createSgddOpsTask steps through train() (${flag('train-steps', 4)} timed after ${flag('train-warmup', 2)}), batch ${sizes.map((s) => `${SIZES[s].trainBatch} (${s})`).join(', ')}; PyTorch on the onnx run's batches`);
    for (const r of trained) console.log(`${r.size} ${r.engine}: ${r.note}`);
    console.log('| size | engine | s / step (CPU s) | tokens / s | vs tfjs-wasm | vs PyTorch | peak RSS MB |');
    console.log('|---|---|---:|---:|---:|---:|---:|');
    for (const r of trained) {
      const base = trained.find((x) => x.size === r.size && x.engine === 'tfjs');
      const torch = trained.find((x) => x.size === r.size && x.engine === 'torch');
      const ratio = (x?: TrainRow) => (x && Number.isFinite(x.tokens_per_s) ? `${(r.tokens_per_s / x.tokens_per_s).toFixed(2)}x` : 'n/a');
      console.log(`| ${r.size} | ${{ tfjs: 'tfjs-wasm', onnx: 'onnxruntime', torch: 'PyTorch CPU' }[r.engine]} | ${r.step_s.toFixed(2)}${r.cpu_s === null ? '' : ` (${r.cpu_s.toFixed(2)})`} | ${Math.round(r.tokens_per_s)} | ${ratio(base)} | ${ratio(torch)} | ${Math.round(r.max_rss_mb)} |`);
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
