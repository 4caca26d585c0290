// Gap-ReLM correction serving: sentences/s and per-batch p50/p99 latency of correction end to end
// through onnxruntime-node (cpu provider, one intra-op thread per core) against the tfjs path
// (wasm here) for the same saved model, at batch sizes 1 and 32, and against the same weights in
// PyTorch on CPU (tools/reference/gap_relm_torch.py --model-dir) fed the padded inputs the TS
// decode built, all in one command. Also checks that both engines correct alike.
// Run from the repo root: npx tsx tools/bench/gap-relm-serving.ts [--model DIR] [--plan gold|model]
//   [--sentences 1100] [--repeats 3] [--warmup 3] [--threads CORES] [--python tools/reference/.venv/bin/python]
// Without --model: a random-init model of the demo's size (DEMO_MODEL of apps/gap-relm), saved
// to a temporary directory; a model directory without onnx/ gets it exported, as `gap-relm
// predict --engine onnx` does.
// --plan gold (default): the planner runs, then its decisions are replaced by the SIGHAN-15 gold
// edits, so the infiller does a trained model's work whatever the weights (a random planner puts
// masks after every slot). --plan model: the model's own plan, `correct()` of the engine as is.
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LatencyStats, type LatencySummary } from '@proj/core';
import {
  BertTokenizer,
  GapRelm,
  OnnxGapRelm,
  buildCharVocab,
  exportGapRelmOnnx,
  gapRelmOnnxDir,
  initBackend,
  type InfillerRun,
  type PlannerRun,
} from '@proj/models';
import { correct, type Correction, type GapRelmDecodeConfig, type InfillerLogitsSource, type PlannerLogitsSource } from '@proj/sampling';
import { REFERENCE_PYTHON, infillerInputsSpec, inputsSpec, recordedBatchSpec, recordingSources, runGapRelmTorch, type RecordedBatch, type Sources, type TorchRun } from './gap-relm-torch';
import { goldPlanner } from './gold-planner';
import { intFlag } from './int-flag';

const BENCH = 'gap-relm-serving';
const root = fileURLToPath(new URL('../../', import.meta.url));
const data = (path: string) => join(root, 'apps/gap-relm/data', path);

/** `--name VALUE` from the command line, else `fallback`. */
function stringFlag(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = process.argv[at + 1];
  if (value === undefined || value.startsWith('--')) throw new RangeError(`bench/${BENCH}: --${name} needs a value`);
  return value;
}

const modelFlag = stringFlag('model', '');
const plan = stringFlag('plan', 'gold');
if (plan !== 'gold' && plan !== 'model') throw new RangeError(`bench/${BENCH}: --plan must be gold or model, got ${plan}`);
const python = resolve(stringFlag('python', REFERENCE_PYTHON));
const sentenceCount = intFlag(BENCH, 'sentences', 1100);
const repeats = intFlag(BENCH, 'repeats', 3);
const warmup = intFlag(BENCH, 'warmup', 3);
const BATCH_SIZES = [1, 32] as const;
/** onnxruntime and PyTorch get the same intra-op threads, by default one per core. */
const threads = intFlag(BENCH, 'threads', availableParallelism());

// DEMO_MODEL of apps/gap-relm/src/commands/demo.ts (copied: tools do not import app internals);
// other fields at their defaults (P-tuning LSTM × 4 shared prompts, K = 3, max positions 256).
const DEMO = { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256 } as const;
const SEED = 42;

/** What GapRelm and OnnxGapRelm share: logits sources and `correct()` over them. */
interface Corrector {
  plannerSource(): PlannerLogitsSource;
  infillerSource(): InfillerLogitsSource;
  correct(texts: string[], decode?: Partial<GapRelmDecodeConfig>): Promise<Correction[]>;
}

/** One engine's correction of one batch; `batch` is the batch's index in the pass. */
type Engine = (texts: string[], batchSize: number, batch: number) => Promise<Correction[]>;

/** The decode config at a batch size, with the model's ablations as `correct()` of the engines applies them. */
const decodeConfig = (model: GapRelm, batchSize: number): Partial<GapRelmDecodeConfig> => ({ batchSize, noInsert: model.config.no_insert, noDelete: model.config.no_delete });

/** Under --plan gold the planner still runs, then its decisions are replaced by the gold edits. */
const withPlan = (model: GapRelm, targets: ReadonlyMap<string, string>) => (planner: PlannerLogitsSource): PlannerLogitsSource =>
  plan === 'gold' ? goldPlanner(planner, model.config.max_insert_k, targets) : planner;

const planned = (sources: Sources, model: GapRelm, targets: ReadonlyMap<string, string>): Sources => ({ ...sources, planner: withPlan(model, targets)(sources.planner) });

/** The planner and infiller `correct()` decodes: the engine's own, or its planner under the gold plan. */
const sourcesOf = (m: Corrector, model: GapRelm, targets: ReadonlyMap<string, string>): Sources => planned({ planner: m.plannerSource(), infiller: m.infillerSource() }, model, targets);

/** An engine's correction: `m.correct()` itself under the model's plan, `correct()` over `sourcesOf` under the gold plan. */
function engineOf(m: Corrector, model: GapRelm, targets: ReadonlyMap<string, string>): Engine {
  if (plan === 'model') return (texts, batchSize) => m.correct(texts, { batchSize });
  const sources = sourcesOf(m, model, targets);
  return (texts, batchSize) => correct(texts, { ...sources, config: decodeConfig(model, batchSize) });
}

// ---- what the decode sent to the model, recorded once per batch size ----

/** The decode's sources over given engine calls (through the model's codec), planned as `sourcesOf`. */
const sourcesOver = (model: GapRelm, plannerRun: PlannerRun, infillerRun: InfillerRun, targets: ReadonlyMap<string, string>): Sources =>
  planned({ planner: model.codec.plannerSource(plannerRun), infiller: model.codec.infillerSource(infillerRun) }, model, targets);

/** Under the chosen plan, the tfjs engine's calls recorded per decode batch (see `RecordedBatch`). */
const recording = (model: GapRelm, targets: ReadonlyMap<string, string>, log: RecordedBatch[]): Sources => recordingSources(model, log, withPlan(model, targets));

/**
 * `correct()` with no engine: the model's codec builds every input (the cost every engine pays)
 * and the engine calls hand back the outputs recorded for batch `batch`. Timing it gives what
 * `correct()` does besides the engine: tokenizing, input building, grouping, softmax, plan
 * decoding, templates, assembly.
 */
function replaying(model: GapRelm, targets: ReadonlyMap<string, string>, log: RecordedBatch[]): Engine {
  let current: RecordedBatch;
  let p = 0;
  let f = 0;
  const sources = sourcesOver(
    model,
    async () => {
      const { op, ins, slots } = current.planners[p++].output;
      return { op: op.slice(), ins: ins.slice(), slots };
    },
    async () => current.infillers[f++].output.slice(),
    targets,
  );
  return (texts, batchSize, batch) => {
    current = log[batch];
    p = 0;
    f = 0;
    return correct(texts, { ...sources, config: decodeConfig(model, batchSize) });
  };
}

// ---- timing ----

interface Pass {
  seconds: number;
  batchMs: number[];
  out: Correction[];
}

function chunks<T>(items: T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

async function timePass(engine: Engine, batches: string[][], batchSize: number): Promise<Pass> {
  const batchMs: number[] = [];
  const out: Correction[] = [];
  for (const [i, texts] of batches.entries()) {
    const start = performance.now();
    out.push(...(await engine(texts, batchSize, i)));
    batchMs.push(performance.now() - start);
  }
  return { seconds: batchMs.reduce((s, x) => s + x, 0) / 1000, batchMs, out };
}

/**
 * `warmup` untimed batches per engine, then `repeats` timed passes over all batches, the engines
 * taking turns pass by pass (so a burst of load from elsewhere hits them alike). Returns each
 * engine's median pass by total time, as gap_relm_torch.py reports PyTorch's.
 */
async function measure(engines: Map<string, Engine>, texts: string[], batchSize: number): Promise<Map<string, Pass>> {
  const batches = chunks(texts, batchSize);
  for (const engine of engines.values()) {
    for (let i = 0; i < Math.min(warmup, batches.length); i++) await engine(batches[i], batchSize, i);
  }
  const passes = new Map<string, Pass[]>([...engines.keys()].map((name) => [name, []]));
  for (let r = 0; r < repeats; r++) {
    for (const [name, engine] of engines) passes.get(name)!.push(await timePass(engine, batches, batchSize));
  }
  return new Map([...passes].map(([name, p]) => [name, [...p].sort((a, b) => a.seconds - b.seconds)[Math.floor(p.length / 2)]]));
}

/** Nearest-rank percentiles of batch latencies (ms). */
function latency(batchMs: number[]): LatencySummary {
  const stats = new LatencyStats(batchMs.length);
  for (const ms of batchMs) stats.record(ms);
  return stats.summary();
}

// ---- the PyTorch baseline ----

interface TorchResult extends TorchRun {
  check: { planner_max_abs_diff: number; infiller_max_abs_diff?: number; infiller_rows?: number; infiller_argmax_agree?: number };
  infer: { name: string; sentences: number; seconds: number; batch_ms: number[] }[];
}

/**
 * For the PyTorch parity check: the raw outputs of the first planner call of the batch-32 run and
 * the first rows (up to 8) of its first infiller call, with their inputs.
 */
function checkSpec(model: GapRelm, log: RecordedBatch[]): object {
  const d = log.find((b) => b.infillers.length > 0) ?? log[0];
  const { inputs, output } = d.planners[0];
  const rowsOf = (data: Float32Array, width: number) => Array.from({ length: inputs.batch }, (_, b) => Array.from(data.subarray(b * output.slots * width, (b + 1) * output.slots * width)));
  const fill = d.infillers[0];
  return {
    planner: inputsSpec(inputs),
    op: rowsOf(output.op, 3),
    insert: rowsOf(output.ins, model.config.max_insert_k + 1),
    infiller: fill ? infillerInputsSpec(fill.inputs) : null,
    fill: fill ? Array.from(fill.output.subarray(0, 8 * model.bertConfig.vocabSize)) : [],
  };
}

async function runTorch(model: GapRelm, modelDir: string, work: string, logs: Map<number, RecordedBatch[]>): Promise<{ result: TorchResult | null; note: string }> {
  if (!existsSync(python)) return { result: null, note: `PyTorch column skipped: no Python at ${python} (create tools/reference/.venv as tools/reference/README.md says, or pass --python)` };
  const specFile = join(work, 'torch-spec.json');
  await writeFile(
    specFile,
    JSON.stringify({
      check: checkSpec(model, logs.get(32)!),
      infer: BATCH_SIZES.map((bs) => ({
        name: `batch ${bs}`,
        batch_size: bs,
        warmup,
        batches: logs.get(bs)!.map(recordedBatchSpec),
      })),
    }),
  );
  try {
    const result = runGapRelmTorch<TorchResult>(python, specFile, ['--model-dir', modelDir, '--threads', String(threads), '--repeats', String(repeats)]);
    const c = result.check;
    const fills = c.infiller_rows === undefined ? 'no infiller call to compare' : `infiller ${c.infiller_max_abs_diff!.toExponential(1)} (same argmax at ${c.infiller_argmax_agree}/${c.infiller_rows} masks)`;
    return {
      result,
      note:
        `PyTorch ${result.torch} + transformers ${result.transformers} (Python ${result.python}), CPU, torch.set_num_threads(${result.threads}), attention ${result.attn_implementation}, ${result.params.toLocaleString('en')} params read from the model directory; ` +
        `max |PyTorch − tfjs| of the logits of one batch: planner ${c.planner_max_abs_diff.toExponential(1)}, ${fills}`,
    };
  } catch (error) {
    return { result: null, note: `PyTorch column failed: ${(error as Error).message}` };
  }
}

// ---- main ----

/** Sentences/s, p50 / p99 batch latency and the ratios, one table row per engine and batch size. */
function table(timed: Map<number, Map<string, Pass>>, torch: TorchResult | null, sentences: number, names: { tfjs: string; decode: string }): string {
  const header = ['batch', 'engine', 'sent/s', 'p50 ms', 'p99 ms', `× ${names.tfjs}`, '× PyTorch + decode'];
  const body: string[][] = [];
  for (const [i, bs] of BATCH_SIZES.entries()) {
    const m = timed.get(bs)!;
    // Parts (decode alone, PyTorch forwards alone) get no ratio: only end-to-end rows compare.
    const rows = [...m].map(([name, p]) => ({ name: name === names.decode ? 'decode only, recorded engine outputs (no engine)' : name, part: name === names.decode, seconds: p.seconds, batchMs: p.batchMs }));
    const t = torch?.infer[i];
    if (t) {
      const decode = m.get(names.decode)!;
      rows.push({ name: 'PyTorch CPU, forwards only', part: true, seconds: t.seconds, batchMs: t.batch_ms });
      rows.push({ name: 'PyTorch forwards + decode', part: false, seconds: t.seconds + decode.seconds, batchMs: t.batch_ms.map((ms, b) => ms + decode.batchMs[b]) });
    }
    const rate = (r: { seconds: number }) => sentences / r.seconds;
    const tfjsRate = rate(rows[0]);
    const torchRate = t ? rate(rows[rows.length - 1]) : undefined;
    for (const r of rows) {
      const ratio = (base?: number) => (base === undefined || r.part ? '–' : `${(rate(r) / base).toFixed(2)}×`);
      const { p50, p99 } = latency(r.batchMs);
      body.push([String(bs), r.name, Math.round(rate(r)).toLocaleString('en'), p50!.toFixed(2), p99!.toFixed(2), ratio(tfjsRate), ratio(torchRate)]);
    }
  }
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((r) => r[c].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => (c === 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, c) => (c === 1 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  const load0 = loadavg();
  const work = await mkdtemp(join(tmpdir(), `bench-${BENCH}-`));
  try {
    const backend = await initBackend({ backend: 'wasm' });
    const modelDir = modelFlag === '' ? join(work, 'model') : resolve(modelFlag);
    if (modelFlag === '') {
      const corpus = readFileSync(data('corpus/wiki.zh-cn.txt'), 'utf8').split('\n').filter((s) => s.trim() !== '');
      const fresh = GapRelm.create(DEMO, BertTokenizer.fromVocabText(buildCharVocab(corpus).toText()), SEED);
      await fresh.save(modelDir);
      fresh.dispose();
    }
    const exported = !existsSync(join(gapRelmOnnxDir(modelDir), 'planner.onnx'));
    if (exported) await exportGapRelmOnnx(modelDir);
    const model = await GapRelm.load(modelDir);
    const onnx = await OnnxGapRelm.load(modelDir, { executionProviders: ['cpu'], intraOpNumThreads: threads });

    const pairs = readFileSync(data('sighan/sighan15-test.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split('\t'));
    const targets = new Map(pairs.map((f) => [f[1], f[2]]));
    const texts = pairs.slice(0, sentenceCount).map((f) => f[1]);

    // Untimed: what the decode sends to the model at each batch size (tfjs engine), for PyTorch and the replay.
    const logs = new Map<number, RecordedBatch[]>();
    for (const bs of BATCH_SIZES) {
      const log: RecordedBatch[] = [];
      const recorded = recording(model, targets, log);
      for (const batch of chunks(texts, bs)) await correct(batch, { ...recorded, config: decodeConfig(model, bs) });
      logs.set(bs, log);
    }

    const names = { tfjs: `tfjs-${backend.name}`, onnx: `onnxruntime-node ${onnx.provider}, ${onnx.intraOpNumThreads} threads`, decode: 'decode' };
    const timed = new Map<number, Map<string, Pass>>();
    for (const bs of BATCH_SIZES) {
      const engines = new Map<string, Engine>([
        [names.tfjs, engineOf(model, model, targets)],
        [names.onnx, engineOf(onnx, model, targets)],
        [names.decode, replaying(model, targets, logs.get(bs)!)],
      ]);
      timed.set(bs, await measure(engines, texts, bs));
    }
    const torch = await runTorch(model, modelDir, work, logs);
    const description = model.describe();
    model.dispose();
    await onnx.release();

    // ---- report ----
    const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
    const masks = logs.get(1)!.reduce((s, d) => s + d.infillers.reduce((m, c) => m + c.inputs.positions.length, 0), 0) / texts.length;
    console.log(`command: npx tsx tools/bench/${BENCH}.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
    console.log(
      `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ` +
        `onnxruntime-node ${ort.env.versions.node}, tfjs ${tf.version_core}; load average (1, 5, 15 min) ${la(load0)} at start, ${la(loadavg())} at end`,
    );
    console.log(`tfjs backend: ${backend.name} (${backend.detail}); onnxruntime-node: provider ${onnx.provider}, intraOpNumThreads ${onnx.intraOpNumThreads}`);
    console.log(`model: ${modelFlag === '' ? `random init (seed ${SEED}) of the demo's size, char vocabulary of the bundled corpus` : modelDir}${exported ? `; onnx/ exported to ${gapRelmOnnxDir(modelDir)}` : ''}`);
    console.log(`  ${description}`);
    console.log(
      `work: ${plan === 'gold' ? 'correct() over the engine\'s planner (run, then replaced by the SIGHAN-15 gold plan) and infiller' : 'the engine\'s correct()'}, default decode config, ` +
        `first ${texts.length} SIGHAN-15 test sources, batch size 1 and 32; ${masks.toFixed(2)} masks filled per sentence; ` +
        `${warmup} warm-up batches per row, then ${repeats} timed passes taken in turns, the median pass reported (latency of one batch, nearest rank)`,
    );
    console.log(torch.note);
    console.log(
      '  PyTorch times the model forwards only (each planner and infiller call, a softmax over each output) on the padded inputs the TS decode gave its engine (length groups, windows); ' +
        '"decode only" is the TS correct() with the recorded engine outputs handed back instead of an engine (tokenizing, input building, grouping, softmax, plan decoding, templates, edits); ' +
        '"PyTorch forwards + decode" adds the two batch by batch: what a PyTorch engine under the TS decode would take, model-call overhead aside.',
    );
    console.log('');
    console.log(table(timed, torch.result, texts.length, names));

    // Agreement: the corrected strings of the two engines' median passes.
    const agreement = BATCH_SIZES.map((bs) => {
      const a = timed.get(bs)!.get(names.tfjs)!.out;
      const b = timed.get(bs)!.get(names.onnx)!.out;
      const same = a.filter((c, i) => c.corrected === b[i].corrected).length;
      const changed = a.filter((c) => c.corrected !== c.source).length;
      return `batch ${bs}: ${same}/${a.length} identical (tfjs changed ${changed})`;
    });
    console.log(`\nagreement, corrected strings of onnxruntime-node vs ${names.tfjs}: ${agreement.join('; ')}`);
    const speedups = BATCH_SIZES.map((bs, i) => {
      const m = timed.get(bs)!;
      const onnxSeconds = m.get(names.onnx)!.seconds;
      const t = torch.result?.infer[i];
      const vsTorch = t ? `, ${((t.seconds + m.get(names.decode)!.seconds) / onnxSeconds).toFixed(2)}× PyTorch forwards + decode` : '';
      return `batch ${bs}: ${(m.get(names.tfjs)!.seconds / onnxSeconds).toFixed(2)}× tfjs${vsTorch}`;
    });
    console.log(`onnxruntime-node sentences/s: ${speedups.join('; ')}`);
    console.log(`bench wall time ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
