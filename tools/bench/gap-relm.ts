// Gap-ReLM throughput for the demo's small model (DEMO_MODEL of apps/gap-relm: hidden 128, 2
// layers, 4 heads, ffn 256, batch 32): joint_finetune training tokens/s and correction
// sentences/s on tfjs-wasm and tfjs-cpu, against the same model in PyTorch on CPU (2 threads,
// tools/reference/gap_relm_torch.py) fed the very batches the TS run used, in the same command.
// Run from the repo root: npx tsx tools/bench/gap-relm.ts [--steps 10] [--warmup 3] [--cpu-steps 2]
//   [--sentences 1100] [--latency-sentences 300] [--cpu-sentences 64] [--cpu-latency-sentences 16]
import * as tf from '@tensorflow/tfjs-core';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfusionSet, ErrorGenerator, defaultSynthConfig } from '@proj/data-synth';
import { BertTokenizer, GapRelm, buildCharVocab, createOpsStageTask, initBackend, onlineExamples, type ExampleSource, type HostArray, type HostBatch, type OpsTrainTask } from '@proj/models';
import { correct, type Correction } from '@proj/sampling';
import { train } from '@proj/trainer';
import { REFERENCE_PYTHON, recordedBatchSpec, recordingSources, runGapRelmTorch, type InputsSpec, type RecordedBatch, type TorchRun } from './gap-relm-torch';
import { goldPlanner } from './gold-planner';
import { intFlag } from './int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const data = (path: string) => join(root, 'apps/gap-relm/data', path);

const flag = (flagName: string, fallback: number) => intFlag('gap-relm', flagName, fallback);

const steps = flag('steps', 10);
const warmup = flag('warmup', 3);
const cpuSteps = flag('cpu-steps', 2);
const cpuWarmup = flag('cpu-warmup', 1);
const sentenceCount = flag('sentences', 1100);
const latencyCount = flag('latency-sentences', 300);
const cpuSentences = flag('cpu-sentences', 64);
const cpuLatency = flag('cpu-latency-sentences', 16);

// DEMO_MODEL of apps/gap-relm/src/commands/demo.ts (copied: tools do not import app internals),
// other fields at their defaults (P-tuning LSTM × 4 prompts, dropout 0.1, K = 3) except ss_end:
// scheduled sampling off, so every step does the same work as the PyTorch step (with the demo's
// ramp, a scheduled batch adds a planner forward in batch() and drops unmatched examples from the
// infill loss).
const DEMO = { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256, batch_size: 32, lr: 0.003 } as const;
const modelConfig = { hidden_size: DEMO.hidden_size, num_hidden_layers: DEMO.num_hidden_layers, num_attention_heads: DEMO.num_attention_heads, intermediate_size: DEMO.intermediate_size, ss_end: 0 };
const SEED = 42;

/**
 * A training batch as the task's loss sees it (createOpsStageTask's inputs): planner inputs +
 * targets (all type 0), infiller inputs + gold fills; no infiller when the infill term weighs 0
 * (no example has a mask).
 */
function trainBatchSpec(b: HostBatch, tokens: number): { tokens: number; planner: InputsSpec; infiller: InputsSpec | null } {
  const list = (a: HostArray) => Array.from(a.data);
  const padded = (prefix: string, types: number[]): InputsSpec => {
    const [batch, length] = b[`${prefix}_input_ids`].shape;
    return { batch, length, ids: list(b[`${prefix}_input_ids`]), mask: list(b[`${prefix}_attention_mask`]), types };
  };
  const planner = { ...padded('planner', new Array<number>(b.planner_input_ids.data.length).fill(0)), op_targets: list(b.op_targets), insert_targets: list(b.insert_targets) };
  const infiller = b.infill_weight.data[0] > 0 ? { ...padded('infill', list(b.infill_token_type_ids)), positions: list(b.infill_positions), gold: list(b.infill_labels) } : null;
  return { tokens, planner, infiller };
}

// ---- training: train() of @proj/trainer itself, timed per optimizer step ----

interface TrainMeasure {
  steps: number;
  tokens: number;
  seconds: number;
  /** Mean time of task.batch() (online synthesis, encoding, padding) inside a step. */
  batchMs: number;
  batches: HostBatch[];
  /** The task's token count of each batch. */
  batchTokens: number[];
}

/**
 * `warmupSteps + timedSteps` joint_finetune steps through `train()` (batch() → loss → gradients →
 * clip → AdamW), logging every step: its `tokens_per_s` is that step's non-padding planner +
 * infiller tokens over the step's wall time. The warm-up steps are dropped.
 */
async function measureTraining(model: GapRelm, examples: ExampleSource, warmupSteps: number, timedSteps: number, outputDir: string): Promise<TrainMeasure> {
  const task = createOpsStageTask('joint_finetune', model, { train: examples });
  const batches: HostBatch[] = [];
  const batchTokens: number[] = [];
  const batchMs: number[] = [];
  const stepSeconds: number[] = [];
  const recording: OpsTrainTask = {
    ...task,
    batch: async (indices, ctx) => {
      const start = performance.now();
      const b = await task.batch(indices, ctx);
      batchMs.push(performance.now() - start);
      batches.push(b);
      batchTokens.push(task.tokens!(b));
      return b;
    },
  };
  // No warmup in the LR schedule: the throughput does not depend on it, and these few steps are
  // enough to teach the planner KEEP (an untrained insert head puts masks after every slot).
  await train({ batch_size: DEMO.batch_size, lr: DEMO.lr, warmup_steps: 0, max_steps: warmupSteps + timedSteps, log_every_steps: 1, seed: SEED, output_dir: outputDir }, recording, {
    log: null,
    onLog: (r) => {
      if (r.split === 'train') stepSeconds.push(batchTokens[stepSeconds.length] / Number(r.tokens_per_s));
    },
  });
  const timed = batchTokens.slice(warmupSteps);
  return {
    steps: timed.length,
    tokens: timed.reduce((s, n) => s + n, 0),
    seconds: stepSeconds.slice(warmupSteps).reduce((s, x) => s + x, 0),
    batchMs: batchMs.slice(warmupSteps).reduce((s, x) => s + x, 0) / timed.length,
    batches,
    batchTokens,
  };
}

// ---- prediction: correct() over SIGHAN-15 test sources ----

interface PredictMeasure {
  name: string;
  batchSize: number;
  sentences: number;
  seconds: number;
  latencies?: number[];
  /** Masks the infiller filled per sentence. */
  masks: number;
  edits: number;
  calls: RecordedBatch[];
}

/** Times `run` over `texts`: one call at batch size 32, or one call per sentence at batch size 1 (latencies). */
async function timeCorrect(texts: string[], batchSize: number, run: (texts: string[]) => Promise<Correction[]>): Promise<{ seconds: number; latencies?: number[]; out: Correction[] }> {
  if (batchSize > 1) {
    const start = performance.now();
    const out = await run(texts);
    return { seconds: (performance.now() - start) / 1000, out };
  }
  const latencies: number[] = [];
  const out: Correction[] = [];
  for (const text of texts) {
    const start = performance.now();
    out.push(...(await run([text])));
    latencies.push(performance.now() - start);
  }
  return { seconds: latencies.reduce((s, x) => s + x, 0) / 1000, latencies, out };
}

async function measurePrediction(model: GapRelm, sources: string[], targets: Map<string, string>, sample: number, latencySample: number): Promise<PredictMeasure[]> {
  await model.correct(sources.slice(0, 8)); // warm-up
  const rows: PredictMeasure[] = [];
  for (const [kind, batchSize, texts] of [
    ['correct()', 32, sources.slice(0, sample)],
    ['correct()', 1, sources.slice(0, latencySample)],
    ['correct(), gold plan', 32, sources.slice(0, sample)],
    ['correct(), gold plan', 1, sources.slice(0, latencySample)],
  ] as const) {
    const calls: RecordedBatch[] = [];
    let timed: Awaited<ReturnType<typeof timeCorrect>>;
    if (kind === 'correct()') {
      timed = await timeCorrect(texts, batchSize, (t) => model.correct(t, { batchSize }));
      // Untimed replay through the same decode with recording sources, for the PyTorch baseline.
      await correct(texts, { ...recordingSources(model, calls), config: { batchSize } });
    } else {
      const gold = recordingSources(model, calls, (planner) => goldPlanner(planner, model.config.max_insert_k, targets));
      timed = await timeCorrect(texts, batchSize, (t) => correct(t, { ...gold, config: { batchSize } }));
    }
    const masks = calls.reduce((s, c) => s + c.infillers.reduce((m, f) => m + f.inputs.positions.length, 0), 0);
    rows.push({
      name: kind,
      batchSize,
      sentences: texts.length,
      seconds: timed.seconds,
      latencies: timed.latencies,
      masks: masks / texts.length,
      edits: timed.out.reduce((s, c) => s + c.edits.length, 0) / texts.length,
      calls,
    });
  }
  return rows;
}

// ---- the PyTorch baseline ----

interface TorchResult extends TorchRun {
  train: { steps: number; passes: number; seconds: number; tokens: number; tokens_per_s: number; step_ms: number; tokens_per_s_range: [number, number] };
  infer: { name: string; sentences: number; seconds: number; sentences_per_s: number; p50_ms?: number; p99_ms?: number }[];
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

async function main(): Promise<void> {
  const started = performance.now();
  const load0 = loadavg();
  const work = await mkdtemp(join(tmpdir(), 'bench-gap-relm-'));
  try {
    // Data: the bundled corpus with online errors (default synthesis config, bundled confusion sets).
    const sentences = readFileSync(data('corpus/wiki.zh-cn.txt'), 'utf8').split('\n').filter((s) => s.trim() !== '');
    const confusion = await ConfusionSet.fromFiles([data('confusion/same_pinyin.txt'), data('confusion/same_stroke.txt')]);
    const examples = onlineExamples(sentences, new ErrorGenerator(defaultSynthConfig, confusion), defaultSynthConfig.seed);
    const tokenizer = BertTokenizer.fromVocabText(buildCharVocab(sentences).toText());
    const pairs = readFileSync(data('sighan/sighan15-test.txt'), 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => l.split('\t'));
    const sources = pairs.map((f) => f[1]);
    const targets = new Map(pairs.map((f) => [f[1], f[2]]));
    const sample = Math.min(sentenceCount, sources.length);

    // tfjs-wasm: train, then predict with the trained weights (saved, so cpu predicts with the same).
    const wasm = await initBackend({ backend: 'wasm' });
    const model = GapRelm.create(modelConfig, tokenizer, SEED);
    const wasmTrain = await measureTraining(model, examples, warmup, steps, join(work, 'train-wasm'));
    await model.save(join(work, 'model'));
    const wasmPredict = await measurePrediction(model, sources, targets, sample, Math.min(latencyCount, sample));
    const description = model.describe();
    model.store.dispose();

    // tfjs-cpu: the same weights, a small sample, then a few training steps on the same first batches.
    const cpu = await initBackend({ backend: 'cpu' });
    const cpuModel = await GapRelm.load(join(work, 'model'));
    const cpuPredict = await measurePrediction(cpuModel, sources, targets, Math.min(cpuSentences, sample), Math.min(cpuLatency, sample));
    const cpuTrain = await measureTraining(cpuModel, examples, cpuWarmup, cpuSteps, join(work, 'train-cpu'));
    cpuModel.store.dispose();

    // PyTorch on the batches the wasm run used.
    let torch: TorchResult | null = null;
    let torchNote: string;
    if (!existsSync(REFERENCE_PYTHON)) torchNote = 'PyTorch baseline skipped: tools/reference/.venv missing';
    else {
      const specFile = join(work, 'torch-spec.json');
      await writeFile(
        specFile,
        JSON.stringify({
          seed: SEED,
          model: { ...modelConfig, vocab_size: tokenizer.vocab.size, max_position_embeddings: model.bertConfig.maxPositionEmbeddings, max_insert_k: model.config.max_insert_k, prompt_length: model.special.prompts, dropout: model.config.dropout },
          train: { warmup, lr: DEMO.lr, weight_decay: 0.01, max_grad_norm: 1, batches: wasmTrain.batches.map((b, i) => trainBatchSpec(b, wasmTrain.batchTokens[i])) },
          infer: wasmPredict.map((r) => ({ name: `${r.name} b${r.batchSize}`, batch_size: r.batchSize, warmup: 3, batches: r.calls.map(recordedBatchSpec) })),
        }),
      );
      try {
        torch = runGapRelmTorch<TorchResult>(REFERENCE_PYTHON, specFile, ['--threads', '2']);
        torchNote = `baseline: PyTorch ${torch.torch} + transformers ${torch.transformers} (Python ${torch.python}), CPU, ${torch.threads} threads, attention ${torch.attn_implementation}, ${torch.params.toLocaleString('en')} params: tools/reference/gap_relm_torch.py on the batches the wasm run used, median of ${torch.train.passes} passes (train ${torch.train.tokens_per_s_range.map((x) => Math.round(x).toLocaleString('en')).join('–')} tok/s over the passes)`;
      } catch (error) {
        torchNote = `PyTorch baseline failed: ${(error as Error).message}`;
      }
    }

    // ---- report ----
    const cpu0 = cpus()[0]?.model ?? 'unknown cpu';
    const load1 = loadavg();
    const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(', ');
    console.log(`command: npx tsx tools/bench/gap-relm.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
    console.log(`machine: ${cpu0}, ${availableParallelism()} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, tfjs ${tf.version_core}; load average (1, 5, 15 min) ${la(load0)} at start, ${la(load1)} at end`);
    console.log(`tfjs backends: wasm = ${wasm.detail}; cpu = ${cpu.detail}`);
    console.log(`model: ${description}`);
    console.log(
      `train: joint_finetune through train() of @proj/trainer (batch() + planner and infill CE + backward + clip + AdamW), batch ${DEMO.batch_size}, online errors on the bundled corpus; ` +
        `wasm ${warmup} warm-up + ${steps} timed steps, cpu ${cpuWarmup} + ${cpuSteps}; tokens = non-padding planner + infiller positions (mean ${Math.round(wasmTrain.tokens / wasmTrain.steps)} per step); batch() took ${wasmTrain.batchMs.toFixed(0)} ms of a wasm step`,
    );
    console.log(`predict: SIGHAN-15 test sources; batch 32 over ${sample} sentences (cpu: first ${Math.min(cpuSentences, sample)}), batch 1 over the first ${Math.min(latencyCount, sample)} (cpu: ${Math.min(cpuLatency, sample)}); "gold plan" = the real planner runs, then the infiller fills the SIGHAN-15 gold errors`);
    console.log(torchNote);
    console.log('');

    interface Row {
      run: string;
      work: string;
      rate: number;
      unit: string;
      latency: string;
      group: string;
      backend: 'torch' | 'wasm' | 'cpu';
    }
    const rows: Row[] = [];
    const trainWork = 'joint_finetune step';
    if (torch) rows.push({ run: `PyTorch CPU ${torch.threads} threads (baseline)`, work: trainWork, rate: torch.train.tokens_per_s, unit: 'tok/s', latency: `${torch.train.step_ms.toFixed(0)} ms/step`, group: 'train', backend: 'torch' });
    for (const [name, backend, m] of [['tfjs-wasm', 'wasm', wasmTrain], ['tfjs-cpu', 'cpu', cpuTrain]] as const) {
      rows.push({ run: name, work: trainWork, rate: m.tokens / m.seconds, unit: 'tok/s', latency: `${((1000 * m.seconds) / m.steps).toFixed(0)} ms/step`, group: 'train', backend });
    }
    wasmPredict.forEach((w, i) => {
      const group = `${w.name} b${w.batchSize}`;
      const work = `${w.name}, batch ${w.batchSize} (${w.masks.toFixed(2)} masks/sent.)`;
      const t = torch?.infer[i];
      const ms = (p50?: number, p99?: number) => (p50 === undefined ? '' : `p50 ${p50.toFixed(1)} / p99 ${p99!.toFixed(1)} ms`);
      if (t) rows.push({ run: `PyTorch CPU ${torch!.threads} threads, forward only (baseline)`, work, rate: t.sentences_per_s, unit: 'sent/s', latency: ms(t.p50_ms, t.p99_ms), group, backend: 'torch' });
      for (const [name, backend, r] of [['tfjs-wasm', 'wasm', w], ['tfjs-cpu', 'cpu', cpuPredict[i]]] as const) {
        rows.push({ run: name, work, rate: r.sentences / r.seconds, unit: 'sent/s', latency: r.latencies ? ms(percentile(r.latencies, 0.5), percentile(r.latencies, 0.99)) : '', group, backend });
      }
    });
    const header = ['run', 'work', 'throughput', 'latency', '× PyTorch', '× tfjs-wasm'];
    const table = rows.map((r) => {
      const base = rows.find((x) => x.group === r.group && x.backend === 'torch');
      const wasmRow = rows.find((x) => x.group === r.group && x.backend === 'wasm')!;
      const rate = `${r.rate >= 100 ? Math.round(r.rate).toLocaleString('en') : r.rate.toFixed(1)} ${r.unit}`;
      return [r.run, r.work, rate, r.latency, base ? `${(r.rate / base.rate).toFixed(2)}×` : '–', `${(r.rate / wasmRow.rate).toFixed(2)}×`];
    });
    const widths = header.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
    const format = (cells: string[]) => `| ${cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
    console.log(format(header));
    console.log(`|${widths.map((w, c) => (c < 2 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':')).join('|')}|`);
    for (const row of table) console.log(format(row));
    const edits = wasmPredict[0].edits;
    console.log(`\n(correct() made ${edits.toFixed(2)} edits per sentence with these ${warmup + steps}-step weights; bench wall time ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
