import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, readSafetensors } from '@proj/core';
import { createMlpTask, useCpuBackend } from '../test/mlp-task';
import type { TrainConfigInput } from './config';
import { lrAt } from './lr-schedule';
import { readMetricsLog, type MetricsRecord } from './metrics-log';
import type { EngineFactory } from './engine';
import { createTfjsEngine } from './tfjs-engine';
import { train } from './train';

const tmp = mkdtempSync(join(tmpdir(), 'trainer-train-'));
let runCounter = 0;
const runDir = (label: string) => join(tmp, `${runCounter++}-${label}`);
beforeAll(useCpuBackend);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const quiet = { log: null, wallTime: () => 1_700_000_000 } as const;
const losses = (history: MetricsRecord[], split = 'train') => history.filter((r) => r.split === split).map((r) => r.loss as number);
const steps = (history: MetricsRecord[], split = 'train') => history.filter((r) => r.split === split).map((r) => r.step);
const sameMaps = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => {
  expect([...a.keys()]).toEqual([...b.keys()]);
  for (const [name, values] of a) expect(Array.from(b.get(name)!), name).toEqual(Array.from(values));
};
const maxDiff = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) =>
  Math.max(...[...a].flatMap(([name, values]) => Array.from(values, (v, i) => Math.abs(v - b.get(name)![i]))));

function collect(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('train: learning', () => {
  it('the loss goes down, dev accuracy goes up, and the run dir has config, logs, events and the plot', async () => {
    const task = createMlpTask();
    const before = await task.evaluate!({ epoch: 0, step: 0 });
    const dir = runDir('learn');
    const log = collect();
    const result = await train({ epochs: 6, batch_size: 8, lr: 0.05, warmup_steps: 2, log_every_steps: 1, output_dir: dir, seed: 3 }, task, { ...quiet, log: log.stream });

    expect(result.stopped).toBe('completed');
    expect(result.global_step).toBe(36); // 48 examples / 8 = 6 steps per epoch
    const curve = losses(result.history);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(curve.slice(-6))).toBeLessThan(0.6 * mean(curve.slice(0, 6)));
    const dev = result.history.filter((r) => r.split === 'dev');
    expect(dev.map((r) => r.step)).toEqual([6, 12, 18, 24, 30, 36]); // each epoch
    expect(dev[dev.length - 1].loss).toBeLessThan(0.7 * before.loss);
    expect(dev[dev.length - 1].accuracy).toBeGreaterThan(before.accuracy);

    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toMatchObject({ epochs: 6, lr: 0.05, grad_accum_steps: 1, weight_decay: 0.01 });
    expect(await readMetricsLog(join(dir, 'metrics.jsonl'))).toEqual(result.history);
    expect(readdirSync(join(dir, 'tensorboard'))).toEqual([`events.out.tfevents.1700000000.${(await import('node:os')).hostname()}`]);
    const svg = readFileSync(join(dir, 'loss.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('train loss');
    expect(svg).toContain('dev accuracy');
    expect(log.text()).toMatch(/train: test\/mlp\n {2}model {4}mlp 4→8→3 \(tanh\)/);
    expect(log.text()).toContain('backend  cpu');
    expect(log.text()).toContain('48 examples, 6 micro-batches of 8 per epoch');
    // The run dir keeps a log: the banner, every metrics record, the closing line.
    const fileLog = readFileSync(join(dir, 'train.log'), 'utf8');
    expect(fileLog).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z train: test\/mlp\n/);
    expect(fileLog.match(/ dev \{"step"/g)).toHaveLength(6);
    expect(fileLog).toMatch(/train: completed at step 36\/36/);
    task.dispose();
  });
});

describe('train: gradient accumulation, clipping and the schedule', () => {
  it('3 micro-batches of 4 accumulated = one batch of 12, including the partial last group and clipping once', async () => {
    // 40 examples: micro-batches of 4 give groups 3+3+3+1; batches of 12 give 12+12+12+4, the same
    // examples per step, so with a mean loss per micro-batch of equal size the steps agree.
    const base: TrainConfigInput = { epochs: 2, lr: 0.05, max_grad_norm: 0.5, weight_decay: 0.1, log_every_steps: 1, seed: 11 };
    const a = createMlpTask({ examples: 40, inputNoise: 0 });
    const b = createMlpTask({ examples: 40, inputNoise: 0 });
    const ra = await train({ ...base, batch_size: 4, grad_accum_steps: 3, output_dir: runDir('accum') }, a, quiet);
    const rb = await train({ ...base, batch_size: 12, grad_accum_steps: 1, output_dir: runDir('concat') }, b, quiet);
    expect(ra.global_step).toBe(8);
    expect(rb.global_step).toBe(8);
    const la = losses(ra.history);
    const lb = losses(rb.history);
    la.forEach((v, i) => expect(Math.abs(v - lb[i])).toBeLessThan(1e-6));
    const na = ra.history.filter((r) => r.split === 'train').map((r) => r.grad_norm as number);
    const nb = rb.history.filter((r) => r.split === 'train').map((r) => r.grad_norm as number);
    na.forEach((v, i) => expect(Math.abs(v - nb[i])).toBeLessThan(1e-5));
    expect(Math.max(...na)).toBeGreaterThan(0.5); // clipping was active on some steps
    expect(maxDiff(a.snapshot(), b.snapshot())).toBeLessThan(1e-5);
    a.dispose();
    b.dispose();
  });

  it('the LR schedule advances once per optimizer step, not per micro-batch', async () => {
    // 48 examples / 8 = 6 micro-batches, 2 per step → 3 steps per epoch, 6 in all.
    const task = createMlpTask();
    const config = { epochs: 2, batch_size: 8, grad_accum_steps: 2, lr: 0.01, min_lr: 0.001, warmup_steps: 2, schedule: 'cosine', log_every_steps: 1 } as const;
    const result = await train({ ...config, output_dir: runDir('schedule') }, task, quiet);
    expect(result.total_steps).toBe(6);
    expect(steps(result.history)).toEqual([1, 2, 3, 4, 5, 6]);
    const expected = [0, 1, 2, 3, 4, 5].map((s) => lrAt(s, { ...config, total_steps: 6 }));
    expect(result.history.filter((r) => r.split === 'train').map((r) => r.lr)).toEqual(expected);
    [0, 0.005, 0.01].forEach((lr, i) => expect(expected[i]).toBeCloseTo(lr, 15)); // warmup, then the peak
    task.dispose();
  });

  it('max_steps overrides epochs and sets the schedule length', async () => {
    const task = createMlpTask();
    const result = await train({ epochs: 1, max_steps: 10, batch_size: 8, schedule: 'linear', lr: 0.01, log_every_steps: 1, output_dir: runDir('max-steps') }, task, quiet);
    expect(result.global_step).toBe(10); // runs into a second epoch
    expect(result.total_steps).toBe(10);
    expect(result.history.filter((r) => r.split === 'train').map((r) => r.epoch)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    task.dispose();
  });
});

describe('train: frozen parameters, early stopping, bad flags', () => {
  it('a trainable predicate freezes the rest (no update, no decay) and the banner lists them', async () => {
    const task = createMlpTask({ trainable: (name) => name.startsWith('out.') });
    const before = task.snapshot();
    const log = collect();
    await train({ epochs: 1, batch_size: 8, lr: 0.05, weight_decay: 0.5, output_dir: runDir('frozen') }, task, { ...quiet, log: log.stream });
    const after = task.snapshot();
    expect(Array.from(after.get('hidden.weight')!)).toEqual(Array.from(before.get('hidden.weight')!));
    expect(Array.from(after.get('hidden.bias')!)).toEqual(Array.from(before.get('hidden.bias')!));
    expect(Array.from(after.get('out.weight')!)).not.toEqual(Array.from(before.get('out.weight')!));
    expect(log.text()).toContain('2/4 tensors trainable (27/67 values); frozen: hidden.weight, hidden.bias');
    task.dispose();
  });

  it('Gap-ReLM-style stages: consecutive train() calls over the same Variables, each with its frozen set and a fresh optimizer', async () => {
    const task = createMlpTask();
    const initial = task.snapshot();
    const dir = runDir('stages');
    const config = { epochs: 2, batch_size: 8, lr: 0.05, log_every_steps: 1 };
    const headOnly = { ...task, name: 'stages/head_only', trainable: (name: string) => name.startsWith('out.') };
    const r1 = await train({ ...config, output_dir: join(dir, 'head_only') }, headOnly, quiet);
    const afterHead = task.snapshot();
    expect(Array.from(afterHead.get('hidden.weight')!)).toEqual(Array.from(initial.get('hidden.weight')!));
    expect(Array.from(afterHead.get('out.weight')!)).not.toEqual(Array.from(initial.get('out.weight')!));

    const joint = { ...task, name: 'stages/joint' };
    const r2 = await train({ ...config, output_dir: join(dir, 'joint') }, joint, quiet);
    expect(Array.from(task.snapshot().get('hidden.weight')!)).not.toEqual(Array.from(afterHead.get('hidden.weight')!));
    expect(losses(r2.history)[0]).toBeLessThan(losses(r1.history)[0]); // the joint stage starts where the head stage ended
    const opt = await readSafetensors(join(dir, 'joint', 'checkpoint-12', 'optimizer.safetensors'));
    expect(opt.metadata.step).toBe('12'); // its own optimizer and schedule, not a continuation of stage 1
    expect(opt.tensors.has('m.hidden.weight')).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'joint', 'checkpoint-12', 'trainer_state.json'), 'utf8')).task).toBe('stages/joint');
    task.dispose();
  });

  it('head_lr_scale: with every parameter new it equals a run at lr · scale; the banner names the scaled tensors', async () => {
    const all = ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias'];
    const config = { epochs: 2, batch_size: 8, lr: 0.01, min_lr: 0.001, warmup_steps: 2, weight_decay: 0.5 };
    const scaled = createMlpTask({ newParameters: all });
    const log = collect();
    const a = await train({ ...config, head_lr_scale: 3, output_dir: runDir('head-scale') }, scaled, { ...quiet, log: log.stream });
    expect(log.text()).toContain('lr       × 3 for 4 new tensors (67 values): hidden.weight, hidden.bias, out.weight, out.bias');
    const plain = createMlpTask();
    const b = await train({ ...config, lr: 0.03, min_lr: 0.003, output_dir: runDir('lr-times-3') }, plain, quiet);
    expect(losses(a.history).length).toBeGreaterThan(1);
    losses(a.history).forEach((loss, i) => expect(loss).toBeCloseTo(losses(b.history)[i], 5));
    expect(maxDiff(scaled.snapshot(), plain.snapshot())).toBeLessThan(1e-5);
    scaled.dispose();
    plain.dispose();
  });

  it('head_lr_scale: only the new trainable parameters move faster; frozen new ones stay frozen', async () => {
    const config = { epochs: 1, batch_size: 8, lr: 0.01, output_dir: '' };
    const run = async (label: string, extra: object) => {
      const task = createMlpTask({ newParameters: ['out.weight', 'hidden.bias'], trainable: (n) => n !== 'hidden.bias' });
      const before = task.snapshot();
      await train({ ...config, ...extra, output_dir: runDir(label) }, task, quiet);
      const moved = new Map([...task.snapshot()].map(([n, v]) => [n, Math.max(...Array.from(v, (x, i) => Math.abs(x - before.get(n)![i])))]));
      task.dispose();
      return moved;
    };
    const one = await run('scale-1', {});
    const ten = await run('scale-10', { head_lr_scale: 10 });
    expect(ten.get('hidden.bias')).toBe(0);
    expect(ten.get('out.weight')!).toBeGreaterThan(3 * one.get('out.weight')!);
    // out.bias, hidden.weight: the same lr; they differ only through the other parameters' updates.
    expect(ten.get('out.bias')!).toBeLessThan(3 * one.get('out.bias')!);
  });

  it('head_lr_scale refuses a task without new parameters, and newParameters() naming an unknown parameter', async () => {
    const plain = createMlpTask();
    await expect(train({ epochs: 1, head_lr_scale: 10, output_dir: runDir('scale-no-new') }, plain, quiet)).rejects.toThrow(
      /train: head_lr_scale is 10 but task "test\/mlp" reports no newly initialized parameters \(newParameters\(\)\)/,
    );
    plain.dispose();
    const wrong = createMlpTask({ newParameters: ['out.weight', 'cls.bias'] });
    await expect(train({ epochs: 1, head_lr_scale: 10, output_dir: runDir('scale-unknown') }, wrong, quiet)).rejects.toThrow(
      /train: task "test\/mlp".newParameters\(\) names "cls.bias", which is not one of its params\(\)/,
    );
    wrong.dispose();
  });

  it('stops early after `patience` evaluations without improvement and keeps best/ at the best step', async () => {
    const task = createMlpTask();
    const devLoss = [0.9, 0.5, 0.6, 0.55, 0.4];
    let evals = 0;
    const scripted = { ...task, evaluate: () => ({ loss: devLoss[evals++] }) };
    const dir = runDir('early');
    const result = await train(
      { epochs: 10, batch_size: 8, eval_every_steps: 2, early_stopping: { metric: 'loss', mode: 'min', patience: 2, min_delta: 0.01 }, output_dir: dir },
      scripted,
      quiet,
    );
    expect(result.stopped).toBe('early_stopping');
    expect(result.global_step).toBe(8); // evals at 2, 4 (best), 6, 8 (0.55 is not better by 0.01) → stop
    expect(result.best_metric).toBe(0.5);
    expect(result.best_step).toBe(4);
    const best = JSON.parse(readFileSync(join(dir, 'best', 'trainer_state.json'), 'utf8'));
    expect(best).toMatchObject({ global_step: 4, best_metric: 0.5, best_step: 4 });
    expect(existsSync(join(dir, 'checkpoint-8', 'optimizer.safetensors'))).toBe(true); // saved on stop
    task.dispose();
  });

  it('refuses a fresh run into a dir holding checkpoints, patience without evaluate(), and non-numeric metrics', async () => {
    const task = createMlpTask();
    const dir = runDir('reuse');
    await train({ epochs: 1, batch_size: 16, output_dir: dir }, task, quiet);
    const again = train({ epochs: 1, batch_size: 16, output_dir: dir }, task, quiet);
    await expect(again).rejects.toThrow(/train: output_dir .*reuse already holds checkpoint-3 from an earlier run; continue it \(resumeFrom; --resume-from on the command line\)/);
    // A user error: the apps print its one line and exit 2.
    await expect(again).rejects.toBeInstanceOf(CliError);
    const { evaluate: _dropped, ...noEval } = task;
    await expect(train({ early_stopping: { patience: 2 }, output_dir: runDir('no-eval') }, noEval, quiet)).rejects.toThrow(
      /train: early_stopping.patience is 2 but task "test\/mlp" has no evaluate\(\)/,
    );
    const badEval = { ...task, evaluate: () => ({ loss: 1, note: 'fine' }) as unknown as Record<string, number> };
    await expect(train({ epochs: 1, batch_size: 16, output_dir: runDir('bad-eval') }, badEval, quiet)).rejects.toThrow(
      /evaluate\(\) returned note="fine"; metrics must be numbers/,
    );
    task.dispose();
  });

  it.each([
    [{ fp16: true }, /checkPrecision: config.fp16 is set but the tfjs backend "cpu" trains in float32 only/],
    [{ bf16: true }, /checkPrecision: config.bf16 is set but the tfjs backend "cpu"/],
    [{ fp16: true, bf16: true }, /bf16: fp16 and bf16 are mutually exclusive/],
    [{ batch_size: 0 }, /parseTrainConfig: invalid config: batch_size: /],
    [{ lr: 0.001, min_lr: 0.01 }, /min_lr: min_lr must be <= lr/],
    [{ learning_rate: 0.1 }, /Unrecognized key.*learning_rate/],
    [{ schedule: 'exponential' }, /schedule: /],
  ])('refuses %j before writing anything', async (flags, message) => {
    const task = createMlpTask();
    const dir = runDir('refused');
    await expect(train({ ...flags, output_dir: dir } as TrainConfigInput, task, quiet)).rejects.toThrow(message);
    expect(existsSync(dir)).toBe(false);
    task.dispose();
  });
});

describe("train: a task's trainMetrics", () => {
  it('are averaged over the log window as the loss is, into metrics.jsonl, train.log, TensorBoard and a log line per record', async () => {
    // 44 examples in micro-batches of 8, 2 per step: groups (8, 8), (8, 8), (8, 4), so `examples`
    // has step means 8, 8, 6 each epoch, and windows of 2 steps 8, 7, 7.
    const task = createMlpTask({ examples: 44, trainMetrics: true });
    const baseline = tf.memory().numTensors;
    const dir = runDir('train-metrics');
    const log = collect();
    const result = await train({ epochs: 2, batch_size: 8, grad_accum_steps: 2, lr: 0.05, log_every_steps: 2, output_dir: dir, seed: 3 }, task, { ...quiet, log: log.stream });
    const rows = result.history.filter((r) => r.split === 'train');
    expect(rows.map((r) => r.step)).toEqual([2, 4, 6]);
    expect(Object.keys(rows[0])).toEqual(['step', 'epoch', 'split', 'loss', 'xent', 'examples', 'lr', 'grad_norm', 'tokens_per_s']);
    expect(rows.map((r) => r.examples)).toEqual([8, 7, 7]);
    rows.forEach((r) => expect(r.xent, `step ${r.step}`).toBe(r.loss));
    expect(await readMetricsLog(join(dir, 'metrics.jsonl'))).toEqual(result.history);
    expect(readFileSync(join(dir, 'train.log'), 'utf8').match(/ train \{"step":\d+,"epoch":\d+,"split":"train","loss":[\d.e-]+,"xent":[\d.e-]+,"examples":\d+/g)).toHaveLength(3);
    const events = readFileSync(join(dir, 'tensorboard', readdirSync(join(dir, 'tensorboard'))[0]));
    for (const tag of ['train/xent', 'train/examples']) expect(events.includes(Buffer.from(tag)), tag).toBe(true);
    // The loss plot gets a panel per train metric.
    const svg = readFileSync(join(dir, 'loss.svg'), 'utf8');
    for (const name of ['train xent', 'train examples']) expect(svg, name).toContain(name);
    const lines = log.text().split('\n').filter((line) => line.startsWith('train step '));
    expect(lines.map((line) => line.replace(/loss ([\d.]+) xent \1 /, 'loss L xent L '))).toEqual(['train step 2: loss L xent L examples 8', 'train step 4: loss L xent L examples 7', 'train step 6: loss L xent L examples 7']);
    expect(lines[0]).toContain(`loss ${Number((rows[0].loss as number).toPrecision(5))} `);
    expect(tf.memory().numTensors).toBe(baseline);
    task.dispose();
  });

  it('on a terminal the line first clears the progress line drawn in place', async () => {
    const task = createMlpTask({ trainMetrics: true });
    const log = collect();
    Object.assign(log.stream, { isTTY: true });
    await train({ epochs: 1, batch_size: 16, log_every_steps: 3, output_dir: runDir('train-metrics-tty') }, task, { ...quiet, log: log.stream });
    expect(log.text()).toContain('\r\x1b[2Ktrain step 3: loss ');
    expect(log.text()).toMatch(/train step 3: loss [\d.]+ xent [\d.]+ examples 16\n/);
    task.dispose();
  });

  it('a task without them logs none of them, and no line per record', async () => {
    const task = createMlpTask();
    const dir = runDir('no-train-metrics');
    const log = collect();
    const result = await train({ epochs: 1, batch_size: 8, log_every_steps: 2, output_dir: dir }, task, { ...quiet, log: log.stream });
    expect(log.text()).toContain('train: completed at step 6/6');
    expect(log.text()).not.toContain('train step ');
    for (const r of (await readMetricsLog(join(dir, 'metrics.jsonl'))).filter((r) => r.split === 'train')) {
      expect(Object.keys(r)).toEqual(['step', 'epoch', 'split', 'loss', 'lr', 'grad_norm', 'tokens_per_s']);
    }
    expect(result.history.length).toBeGreaterThan(0);
    // lr, grad_norm and tokens/s are not plotted: only the loss and the dev metrics.
    const svg = readFileSync(join(dir, 'loss.svg'), 'utf8');
    expect(svg).toContain('dev accuracy');
    expect(svg).not.toContain('train lr');
    task.dispose();
  });

  it('refuses names that clash with the record or repeat, and a micro-step whose metrics differ from the declared ones', async () => {
    const task = createMlpTask({ trainMetrics: true });
    const named = (names: string[]) => ({ ...task, trainMetrics: { ...task.trainMetrics!, names } });
    await expect(train({ output_dir: runDir('clash') }, named(['xent', 'lr']), quiet)).rejects.toThrow('train: task "test/mlp".trainMetrics names "lr", which is a field of the train records');
    await expect(train({ output_dir: runDir('repeat') }, named(['xent', 'xent']), quiet)).rejects.toThrow('train: task "test/mlp".trainMetrics repeats a name: [xent, xent]');
    const baseline = tf.memory().numTensors;
    await expect(train({ epochs: 1, batch_size: 8, output_dir: runDir('undeclared') }, named(['xent']), quiet)).rejects.toThrow(
      'train: task "test/mlp" declares trainMetrics [xent] but a micro-step on engine tfjs (cpu) returned [xent, examples]',
    );
    expect(tf.memory().numTensors).toBe(baseline);
    task.dispose();
  });
});

describe('train: checkpoints', () => {
  it('writes checkpoint-<step>/ atomically, keeps the newest save_total_limit, and best/ holds the best evaluation', async () => {
    const task = createMlpTask();
    const dir = runDir('ckpt');
    const result = await train({ epochs: 4, batch_size: 8, lr: 0.05, ema_decay: 0.8, save_total_limit: 2, output_dir: dir }, task, quiet);
    const names = readdirSync(dir).sort();
    expect(names).toEqual(['best', 'checkpoint-18', 'checkpoint-24', 'config.json', 'loss.svg', 'metrics.jsonl', 'tensorboard', 'train.log']);
    expect(result.last_checkpoint).toBe(join(dir, 'checkpoint-24'));
    expect(readdirSync(join(dir, 'checkpoint-24')).sort()).toEqual(['ema.safetensors', 'model.safetensors', 'optimizer.safetensors', 'trainer_state.json']);
    const state = JSON.parse(readFileSync(join(dir, 'checkpoint-18', 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({ global_step: 18, epoch: 3, batch_in_epoch: 0, task: 'test/mlp' });
    expect(state.rng).toHaveLength(4);
    const opt = await readSafetensors(join(dir, 'checkpoint-24', 'optimizer.safetensors'));
    expect(opt.metadata).toEqual({ kind: 'adamw', step: '24' });
    expect([...opt.tensors.keys()].sort()).toEqual(['m.hidden.bias', 'm.hidden.weight', 'm.out.bias', 'm.out.weight', 'v.hidden.bias', 'v.hidden.weight', 'v.out.bias', 'v.out.weight']);
    // The checkpoint holds the raw weights (what training continues from); best/ the EMA weights it evaluated.
    const raw = await readSafetensors(join(dir, 'checkpoint-24', 'model.safetensors'));
    expect(Array.from(raw.tensors.get('out.weight')!.data as Float32Array)).toEqual(Array.from(task.snapshot().get('out.weight')!));
    const dev = result.history.filter((r) => r.split === 'dev');
    const bestDev = dev.reduce((a, b) => ((b.loss as number) < (a.loss as number) ? b : a));
    const bestState = JSON.parse(readFileSync(join(dir, 'best', 'trainer_state.json'), 'utf8'));
    expect(bestState.best_step).toBe(bestDev.step);
    expect(bestState.best_metric).toBe(bestDev.loss);
    const ema = await readSafetensors(join(dir, 'checkpoint-24', 'ema.safetensors'));
    if (bestDev.step === 24) {
      const best = await readSafetensors(join(dir, 'best', 'model.safetensors'));
      expect(Array.from(best.tensors.get('out.weight')!.data as Float32Array)).toEqual(Array.from(ema.tensors.get('out.weight')!.data as Float32Array));
    }
    expect(Array.from(ema.tensors.get('out.weight')!.data as Float32Array)).not.toEqual(Array.from(raw.tensors.get('out.weight')!.data as Float32Array));
    task.dispose();
  });
});

describe('train: periodic hooks', () => {
  it('run every N steps and at the last step, after evaluation, on the weights evaluation sees (EMA), not the raw ones', async () => {
    const task = createMlpTask();
    const evaluate = task.evaluate!.bind(task);
    const evaluated = new Map<number, Float32Array>();
    task.evaluate = (ctx) => {
      evaluated.set(ctx.step, task.snapshot().get('out.weight')!);
      return evaluate(ctx);
    };
    const seen: { step: number; weights: Float32Array; evaluatedFirst: boolean }[] = [];
    const dir = runDir('periodic');
    await train({ epochs: 2, max_steps: 10, batch_size: 8, lr: 0.05, ema_decay: 0.8, eval_every_steps: 4, save_every_steps: 4, output_dir: dir }, task, {
      ...quiet,
      periodic: [{ name: 'probe', everySteps: 4, run: ({ step }) => void seen.push({ step, weights: task.snapshot().get('out.weight')!, evaluatedFirst: evaluated.has(step) }) }],
    });
    expect(seen.map((s) => s.step)).toEqual([4, 8, 10]);
    for (const { step, weights, evaluatedFirst } of seen) {
      expect(evaluatedFirst).toBe(true);
      expect(Array.from(weights), `step ${step}`).toEqual(Array.from(evaluated.get(step)!));
    }
    const raw = await readSafetensors(join(dir, 'checkpoint-8', 'model.safetensors'));
    expect(Array.from(seen[1].weights)).not.toEqual(Array.from(raw.tensors.get('out.weight')!.data as Float32Array));
    await expect(train({ epochs: 1, batch_size: 8, output_dir: runDir('periodic-bad') }, task, { ...quiet, periodic: [{ name: 'probe', everySteps: 0, run: () => {} }] })).rejects.toThrow(
      'train: periodic hook "probe".everySteps must be an integer >= 1, got 0',
    );
    task.dispose();
  });
});

describe('train: several steps per engine call (steps_per_run)', () => {
  /** The tfjs engine, declaring it can take `capacity` steps per call; records each call's steps ahead (it takes them as train() calls them). */
  const chaining = (capacity: number, calls: number[][]): EngineFactory<unknown> => (setup) => {
    const engine = createTfjsEngine(setup);
    return Object.assign(engine, {
      maxStepsPerRun: capacity,
      microStep: ((microStep) => (indices: readonly number[], ctx: Parameters<typeof microStep>[1], groupSize: number, lr: number, ahead?: Parameters<typeof microStep>[4]) => {
        if (ahead && ahead.length > 0) calls.push([ctx.step + 1, ...ahead.map((a) => a.ctx.step + 1)]);
        return microStep(indices, ctx, groupSize, lr);
      })(engine.microStep.bind(engine)),
    });
  };
  // 48 examples / 8 = 6 steps per epoch, 12 steps; log every 4, evaluate every 3 (and save there).
  const config = { epochs: 2, batch_size: 8, lr: 0.05, warmup_steps: 2, log_every_steps: 4, eval_every_steps: 3, save_total_limit: 0 };

  it('groups only steps after which nothing reads the weights, aligned to multiples of the call size; the same run as one step per call', async () => {
    const plain = createMlpTask();
    const one = await train({ ...config, output_dir: runDir('one-per-call') }, plain, quiet);
    const calls: number[][] = [];
    const task = createMlpTask();
    const result = await train({ ...config, steps_per_run: 4, output_dir: runDir('four-per-call') }, task, { ...quiet, engine: chaining(8, calls) });
    // Quiet after 1, 2, 5, 7, 10, 11 (not a log step, multiple of 3, epoch end or the last); calls
    // also end at multiples of 4: steps 1-3, 5-6, 7-8, 10-12.
    expect(calls).toEqual([[1, 2, 3], [5, 6], [7, 8], [10, 11, 12]]);
    expect(losses(result.history)).toEqual(losses(one.history));
    expect(steps(result.history, 'dev')).toEqual([3, 6, 9, 12]);
    sameMaps(plain.snapshot(), task.snapshot());
    plain.dispose();
    task.dispose();
  });

  it('steps_per_run is capped by the engine, and max_seconds is checked where a call ends', async () => {
    const calls: number[][] = [];
    const capped = createMlpTask();
    await train({ ...config, steps_per_run: 4, output_dir: runDir('capped') }, capped, { ...quiet, engine: chaining(2, calls) });
    // Calls of 2, ending at even steps: step 10 (even) is a call of its own, as 3, 4 and 9.
    expect(calls).toEqual([[1, 2], [5, 6], [7, 8], [11, 12]]);
    capped.dispose();

    // One simulated second per clock reading: the limit has passed when step 1 ends, but the
    // clock is read where the call of steps 1-3 ends.
    let reads = 0;
    const timed = createMlpTask();
    const limited = await train({ ...config, steps_per_run: 4, max_seconds: 0.5, output_dir: runDir('chained-time-limit') }, timed, { ...quiet, engine: chaining(8, []), clock: () => 1000 * reads++ });
    expect(limited.stopped).toBe('time_limit');
    expect(limited.global_step).toBe(3);
    timed.dispose();
  });
});

describe('train: resume', () => {
  // Mid-epoch checkpoints (step 9 = epoch 1, micro-batch 6 of 12), accumulation, EMA, input noise
  // drawn from ctx.rng and periodic evaluation: everything that has state.
  const config: TrainConfigInput = {
    epochs: 3,
    batch_size: 4,
    grad_accum_steps: 2,
    lr: 0.03,
    warmup_steps: 3,
    ema_decay: 0.9,
    ema_warmup: true,
    eval_every_steps: 2,
    save_every_steps: 3,
    save_total_limit: 0,
    log_every_steps: 1,
    seed: 5,
  };
  let full: { history: MetricsRecord[]; weights: Map<string, Float32Array>; dir: string };

  beforeAll(async () => {
    const task = createMlpTask();
    const dir = runDir('resume-full');
    const result = await train({ ...config, output_dir: dir }, task, quiet);
    expect(result.global_step).toBe(18);
    full = { history: result.history, weights: task.snapshot(), dir };
    task.dispose();
  });

  it('from a mid-epoch checkpoint: the same loss curve, dev metrics and final weights, bit for bit', async () => {
    const task = createMlpTask();
    const result = await train({ ...config, output_dir: runDir('resume-from-9') }, task, { ...quiet, resumeFrom: join(full.dir, 'checkpoint-9') });
    expect(steps(result.history)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18]);
    expect(losses(result.history)).toEqual(losses(full.history).slice(9));
    expect(result.history.filter((r) => r.split === 'dev')).toEqual(full.history.filter((r) => r.split === 'dev' && r.step > 9));
    sameMaps(full.weights, task.snapshot());
    task.dispose();
  });

  it('after an abort, resuming the same run dir completes the curve with each step logged once', async () => {
    const dir = runDir('resume-abort');
    const first = createMlpTask();
    const controller = new AbortController();
    const stopped = await train({ ...config, output_dir: dir }, first, {
      ...quiet,
      onLog: (r) => r.split === 'train' && r.step === 5 && controller.abort(),
      signal: controller.signal,
    });
    expect(stopped.stopped).toBe('aborted');
    expect(stopped.global_step).toBe(5);
    first.dispose();

    const second = createMlpTask();
    const resumed = await train({ ...config, output_dir: dir, log_every_steps: 1 }, second, { ...quiet, resumeFrom: dir });
    expect(resumed.stopped).toBe('completed');
    const log = await readMetricsLog(join(dir, 'metrics.jsonl'));
    expect(steps(log)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(losses(log)).toEqual(losses(full.history));
    sameMaps(full.weights, second.snapshot());
    expect(readdirSync(join(dir, 'tensorboard'))).toHaveLength(2); // the resumed part did not overwrite the first
    second.dispose();
  });

  it('max_seconds stops at the first step that ends past the limit, evaluated and saved; the run is a prefix and resumes to the same end', async () => {
    const dir = runDir('time-limit');
    const first = createMlpTask();
    // One simulated second per reading: the call reads 0, step k's check reads k seconds.
    let reads = 0;
    const limited = await train({ ...config, output_dir: dir, max_seconds: 6.5 }, first, { ...quiet, clock: () => 1000 * reads++ });
    expect(limited.stopped).toBe('time_limit');
    expect(limited.global_step).toBe(7);
    expect(limited.total_steps).toBe(18);
    // The schedule still counts 18 steps: the curve is the unlimited run's first 7 steps.
    expect(losses(limited.history)).toEqual(losses(full.history).slice(0, 7));
    expect(limited.history.filter((r) => r.split === 'train').map((r) => r.lr)).toEqual(full.history.filter((r) => r.split === 'train' && r.step <= 7).map((r) => r.lr));
    // Step 7 is not an evaluation step (every 2) nor a save step (every 3): the stop adds both.
    expect(steps(limited.history, 'dev')).toEqual([2, 4, 6, 7]);
    expect(limited.last_checkpoint).toBe(join(dir, 'checkpoint-7'));
    expect(readFileSync(join(dir, 'train.log'), 'utf8')).toMatch(/train: time_limit at step 7\/18/);
    first.dispose();

    // max_seconds is not part of the config hash: the run resumes without the limit and ends as the unlimited one.
    const second = createMlpTask();
    const resumed = await train({ ...config, output_dir: dir }, second, { ...quiet, resumeFrom: dir });
    expect(resumed.stopped).toBe('completed');
    expect(losses(await readMetricsLog(join(dir, 'metrics.jsonl')))).toEqual(losses(full.history));
    sameMaps(full.weights, second.snapshot());
    second.dispose();
  });

  it('with head_lr_scale: resuming from a mid-epoch checkpoint gives the same curve and weights, bit for bit', async () => {
    const scaled = { ...config, head_lr_scale: 4 };
    const make = () => createMlpTask({ newParameters: ['out.weight', 'out.bias'] });
    const straight = make();
    const dir = runDir('resume-scaled-full');
    const whole = await train({ ...scaled, output_dir: dir }, straight, quiet);
    expect(losses(whole.history)).not.toEqual(losses(full.history));
    const resumed = make();
    const result = await train({ ...scaled, output_dir: runDir('resume-scaled-from-9') }, resumed, { ...quiet, resumeFrom: join(dir, 'checkpoint-9') });
    expect(losses(result.history)).toEqual(losses(whole.history).slice(9));
    sameMaps(straight.snapshot(), resumed.snapshot());
    // and a checkpoint of the unscaled run is refused with the scale on
    await expect(train({ ...scaled, output_dir: runDir('resume-scaled-bad') }, resumed, { ...quiet, resumeFrom: join(full.dir, 'checkpoint-9') })).rejects.toThrow(/config hash/);
    straight.dispose();
    resumed.dispose();
  });

  it('with group_by_length: batches of similar length, and a mid-epoch resume gives the same curve and weights, bit for bit', async () => {
    const grouped = { ...config, group_by_length: true };
    const exampleLength = (i: number) => (i * 7) % 5;
    const seen: number[][] = [];
    const make = (record = false) => {
      const task = createMlpTask({ exampleLength });
      const batch = task.batch.bind(task);
      task.batch = (indices, ctx) => {
        if (record) seen.push([...indices]);
        return batch(indices, ctx);
      };
      return task;
    };
    const straight = make(true);
    const dir = runDir('resume-grouped-full');
    const whole = await train({ ...grouped, output_dir: dir }, straight, quiet);
    expect(losses(whole.history)).not.toEqual(losses(full.history));
    // 48 examples in batches of 4 (one window): each batch holds one or two lengths of the five.
    const spread = seen.map((b) => Math.max(...b.map(exampleLength)) - Math.min(...b.map(exampleLength)));
    expect(Math.max(...spread)).toBeLessThanOrEqual(1);
    const resumed = make();
    const result = await train({ ...grouped, output_dir: runDir('resume-grouped-from-9') }, resumed, { ...quiet, resumeFrom: join(dir, 'checkpoint-9') });
    expect(losses(result.history)).toEqual(losses(whole.history).slice(9));
    sameMaps(straight.snapshot(), resumed.snapshot());
    straight.dispose();
    resumed.dispose();
    const blind = createMlpTask();
    const refused = train({ ...grouped, output_dir: runDir('grouped-blind') }, blind, quiet);
    await expect(refused).rejects.toThrow(/train: group_by_length needs example lengths, and task "test\/mlp" has no exampleLength\(\)/);
    await expect(refused).rejects.toBeInstanceOf(CliError);
    blind.dispose();
  });

  it('refuses a checkpoint written with a different recipe, before touching the weights', async () => {
    const task = createMlpTask();
    const before = task.snapshot();
    await expect(train({ ...config, lr: 0.1, output_dir: runDir('resume-bad') }, task, { ...quiet, resumeFrom: join(full.dir, 'checkpoint-9') })).rejects.toThrow(
      /train: resumeFrom .*checkpoint-9 was written with config hash [0-9a-f]{16}, but this config hashes to [0-9a-f]{16}/,
    );
    sameMaps(before, task.snapshot());
    task.dispose();
  });
});

describe('train: tensors', () => {
  it('no tensor leaks: the count is stable across steps and back to the baseline after the run', async () => {
    const task = createMlpTask();
    const baseline = tf.memory().numTensors;
    const counts: number[] = [];
    await train({ epochs: 2, batch_size: 4, grad_accum_steps: 3, ema_decay: 0.9, eval_every_steps: 2, log_every_steps: 1, output_dir: runDir('leak') }, task, {
      ...quiet,
      onLog: (r) => r.split === 'train' && counts.push(tf.memory().numTensors),
    });
    expect(counts.length).toBe(8);
    expect(new Set(counts.slice(1)).size).toBe(1); // moments are created at step 1, then nothing grows
    expect(tf.memory().numTensors).toBe(baseline);
    task.dispose();
  });

  it('an async batch() (records read from disk) trains exactly like a sync one and leaks nothing', async () => {
    const config = { epochs: 2, batch_size: 8, grad_accum_steps: 2, log_every_steps: 1 };
    const sync = createMlpTask();
    const rs = await train({ ...config, output_dir: runDir('sync-batch') }, sync, quiet);
    const task = createMlpTask();
    const baseline = tf.memory().numTensors;
    const asyncTask = {
      ...task,
      batch: async (indices: readonly number[], ctx: Parameters<typeof task.batch>[1]) => {
        await new Promise((resolve) => setImmediate(resolve));
        return task.batch(indices, ctx);
      },
    };
    const ra = await train({ ...config, output_dir: runDir('async-batch') }, asyncTask, quiet);
    expect(losses(ra.history)).toEqual(losses(rs.history));
    sameMaps(sync.snapshot(), task.snapshot());
    expect(tf.memory().numTensors).toBe(baseline);
    sync.dispose();
    task.dispose();
  });

  it('a loss that throws mid-run leaks nothing and the error reaches the caller', async () => {
    const task = createMlpTask({ failAt: { epoch: 1, batchIndex: 3 } });
    const baseline = tf.memory().numTensors;
    await expect(train({ epochs: 2, batch_size: 4, grad_accum_steps: 2, ema_decay: 0.5, output_dir: runDir('throws') }, task, quiet)).rejects.toThrow(
      /planned failure at epoch 1, batch 3/,
    );
    expect(tf.memory().numTensors).toBe(baseline);
    task.dispose();
  });
});
