import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { CliError, Progress, Rng, writeFileAtomic, type RngState } from '@proj/core';
import { listCheckpoints, loadCheckpoint, readTrainerState, removeStaleDirs, resolveCheckpoint, saveBest, saveCheckpoint, type TrainerState } from './checkpoint';
import { configHash, parseTrainConfig, type TrainConfig, type TrainConfigInput } from './config';
import { initialEarlyStopping, updateEarlyStopping } from './early-stopping';
import type { AheadStep, EngineFactory } from './engine';
import { ensureGradients } from './ensure-gradients';
import { epochOrder } from './epoch-order';
import { renderLossPlot, type PlotPanel } from './loss-plot';
import { lrAt, type LrSchedule } from './lr-schedule';
import { MetricsLog, readMetricsLog, type MetricsRecord } from './metrics-log';
import { checkPrecision } from './precision';
import type { EvalContext, StepContext, TrainTask } from './task';
import { TfEventsWriter } from './tfevents-writer';
import { createTfjsEngine } from './tfjs-engine';

export interface TrainOptions<B = unknown> {
  /** A checkpoint-<step>/ dir, or a run dir (its newest checkpoint), to continue from. */
  resumeFrom?: string;
  /** When aborted, the loop finishes the current optimizer step, saves a checkpoint and returns. */
  signal?: AbortSignal;
  /** Banner and progress lines; default process.stderr, null = silent. */
  log?: NodeJS.WritableStream | null;
  /** Called with every train record (each log_every_steps) and every dev record. */
  onLog?(record: MetricsRecord): void;
  /** Clock for tensorboard wall times, seconds since the epoch (tests inject a fixed one). */
  wallTime?: () => number;
  /** Monotonic clock in milliseconds for `max_seconds`; default performance.now (tests inject one). */
  clock?: () => number;
  /** Where the steps run; default `createTfjsEngine` (the task's `loss` under tf.variableGrads). */
  engine?: EngineFactory<B>;
  /** Work every N optimizer steps beside evaluation (e.g. sample generations from fixed prompts). */
  periodic?: readonly PeriodicHook[];
}

/**
 * Called every `everySteps` optimizer steps, at the last step and on early stopping, after that
 * step's evaluation and before its checkpoint, with the weights evaluation sees in the task's
 * Variables (the EMA averages when EMA is on; an engine that keeps its weights elsewhere has
 * written them there). A resumed run calls it for the steps after the checkpoint only.
 */
export interface PeriodicHook {
  /** For errors, e.g. "samples". */
  name: string;
  /** An integer >= 1. */
  everySteps: number;
  run(ctx: EvalContext): Promise<void> | void;
}

export interface TrainResult {
  /** time_limit: `max_seconds` ran out before the planned steps (a checkpoint was saved). */
  stopped: 'completed' | 'early_stopping' | 'time_limit' | 'aborted';
  global_step: number;
  total_steps: number;
  best_metric: number | null;
  best_step: number;
  /** Records logged by this call (a resumed call starts after the checkpoint). */
  history: MetricsRecord[];
  run_dir: string;
  last_checkpoint: string | null;
  config: TrainConfig;
}

/**
 * Trains `task` as `config` says. Reads top to bottom: 1) config and checks, 2) parameters,
 * 3) data geometry and LR schedule, 4) optimizer and EMA, 5) resume, 6) run dir and banner,
 * 7) epochs → micro-batches → (at a group boundary) clip, step, EMA, log, evaluate, checkpoint,
 * 8) loss plot. See README.md for the guarantees.
 */
export async function train<B>(configInput: TrainConfigInput, task: TrainTask<B>, options: TrainOptions<B> = {}): Promise<TrainResult> {
  // max_seconds counts from here, setup (the engine's graphs and sessions) included, per call: a
  // resumed run gets the whole limit again.
  const clock = options.clock ?? (() => performance.now());
  const calledAt = clock();
  // 1) config, precision flags, output
  const config = parseTrainConfig(configInput);
  const backend = tf.getBackend();
  checkPrecision(config, backend);
  await ensureGradients();
  const runDir = config.output_dir;
  const hash = configHash(config);
  const logStream = options.log === undefined ? process.stderr : options.log;
  // Log lines also go to <output_dir>/train.log (appended, so a resumed run continues it).
  let logFile: WriteStream | null = null;
  const say = (line: string) => {
    logStream?.write(`${line}\n`);
    logFile?.write(`${new Date().toISOString()} ${line}\n`);
  };
  // A line on the log stream alone (train.log has the record): on a terminal it first clears the
  // progress line being redrawn in place, which the next tick draws again below it.
  const sayAboveProgress = (line: string) => logStream?.write(`${(logStream as { isTTY?: boolean }).isTTY ? '\r\x1b[2K' : ''}${line}\n`);

  // 2) parameters: the trainable subset gets gradients, weight decay and EMA; the rest is frozen
  const allParams = task.params();
  const trainable = new Map([...allParams].filter(([name]) => task.trainable?.(name) ?? true));
  if (trainable.size === 0) throw new RangeError(`train: task "${task.name}" has no trainable parameters (trainable() rejected all ${allParams.size})`);
  const scaled = headLrScaled(config, task, allParams, trainable);
  const lrScale = scaled.size > 0 ? (name: string) => (scaled.has(name) ? config.head_lr_scale : 1) : undefined;
  const metricNames = checkTrainMetricNames(task);

  // 3) data geometry; the schedule counts optimizer steps, and a partial last group is a step
  // Settings the task cannot honour are the user's to change: one line and exit 2 in the apps.
  if (config.early_stopping.patience > 0 && !task.evaluate) {
    throw new CliError(`train: early_stopping.patience is ${config.early_stopping.patience} but task "${task.name}" has no evaluate()`);
  }
  const numExamples = task.numExamples();
  if (!Number.isInteger(numExamples) || numExamples <= 0) throw new RangeError(`train: task.numExamples() must be an integer > 0, got ${numExamples}`);
  const batchesPerEpoch = Math.ceil(numExamples / config.batch_size);
  if (config.group_by_length && typeof task.exampleLength !== 'function') {
    throw new CliError(`train: group_by_length needs example lengths, and task "${task.name}" has no exampleLength()`);
  }
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / config.grad_accum_steps);
  const totalSteps = config.max_steps > 0 ? config.max_steps : config.epochs * stepsPerEpoch;
  const schedule: LrSchedule = { ...config, total_steps: totalSteps };

  // 4) the engine: gradient sums, clipping, optimizer and EMA (tfjs by default)
  const periodic = options.periodic ?? [];
  for (const hook of periodic) {
    if (!Number.isInteger(hook.everySteps) || hook.everySteps < 1) throw new RangeError(`train: periodic hook "${hook.name}".everySteps must be an integer >= 1, got ${hook.everySteps}`);
  }
  const engine = await (options.engine ?? createTfjsEngine)({ config, task, trainable, lrScale });
  const { optimizer, ema } = engine;

  let events: TfEventsWriter | null = null;
  let progress: Progress | null = null;
  try {
    // 5) a fresh state, or the one a checkpoint saved (weights, moments and EMA restored in place)
    let state: TrainerState = {
      global_step: 0,
      epoch: 0,
      batch_in_epoch: 0,
      rng: [...new Rng(config.seed).state()],
      best_metric: null,
      best_step: -1,
      early_stopping: initialEarlyStopping(config.early_stopping),
      config_hash: hash,
      task: task.name,
    };
    let resumedFrom: string | null = null;
    // What a killed run left half-written or half-deleted in the run dir goes before anything is listed.
    const stale = await removeStaleDirs(runDir);
    if (stale.length > 0) say(`train: cleared ${stale.join(', ')} left in ${runDir} by an interrupted run`);
    if (options.resumeFrom !== undefined) {
      resumedFrom = await resolveCheckpoint(options.resumeFrom);
      // Check the recipe before touching the task's weights.
      const saved = await readTrainerState(resumedFrom, config.early_stopping.mode);
      if (saved.config_hash !== hash) {
        throw new Error(
          `train: resumeFrom ${resumedFrom} was written with config hash ${saved.config_hash}, but this config hashes to ${hash}; ` +
            'only output_dir, log_every_steps, save_every_steps and save_total_limit may change on resume',
        );
      }
      state = { ...(await loadCheckpoint(resumedFrom, { task, optimizer, ema }, config.early_stopping.mode)), task: task.name };
      await engine.syncFromTask();
    }

    // 6) run dir: resolved config, logs, banner. A fresh run never mixes with an earlier one's
    //    checkpoints (pruning and "latest" would pick them up).
    const earlier = await listCheckpoints(runDir);
    const continuingHere = resumedFrom !== null && resolve(dirname(resumedFrom)) === resolve(runDir);
    if (!continuingHere && earlier.length > 0) {
      // A user's choice, not a fault: the apps print it as one line and exit 2.
      throw new CliError(
        `train: output_dir ${runDir} already holds ${earlier.map((c) => `checkpoint-${c.step}`).join(', ')} from an earlier run; ` +
          'continue it (resumeFrom; --resume-from on the command line) or choose another output_dir',
      );
    }
    await mkdir(runDir, { recursive: true });
    logFile = createWriteStream(join(runDir, 'train.log'), { flags: 'a' });
    await writeFileAtomic(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    const metricsLog = await MetricsLog.open(join(runDir, 'metrics.jsonl'), resumedFrom ? { resumeAtStep: state.global_step } : {});
    events = TfEventsWriter.open(join(runDir, 'tensorboard'), { wallTime: options.wallTime });
    const count = (ps: Iterable<tf.Variable>) => [...ps].reduce((n, p) => n + p.size, 0);
    const frozen = [...allParams.keys()].filter((name) => !trainable.has(name));
    say(
      [
        `train: ${task.name}`,
        `  model    ${task.describe()}`,
        `  data     ${numExamples} examples, ${batchesPerEpoch} micro-batches of ${config.batch_size} per epoch, ` +
          `${config.grad_accum_steps} per step (effective batch ${config.batch_size * config.grad_accum_steps}), ${stepsPerEpoch} steps/epoch, ${totalSteps} steps`,
        `  stage    ${trainable.size}/${allParams.size} tensors trainable (${count(trainable.values())}/${count(allParams.values())} values)` +
          (frozen.length > 0 ? `; frozen: ${frozen.slice(0, 8).join(', ')}${frozen.length > 8 ? `, … (${frozen.length})` : ''}` : ''),
        ...(config.head_lr_scale !== 1
          ? [`  lr       × ${config.head_lr_scale} for ${scaled.size} new tensors (${count([...scaled].map((n) => trainable.get(n)!))} values)${scaled.size > 0 ? `: ${[...scaled].slice(0, 8).join(', ')}${scaled.size > 8 ? `, … (${scaled.size})` : ''}` : ''}`]
          : []),
        `  backend  ${backend}`,
        `  engine   ${engine.name}`,
        `  output   ${runDir}/{config.json, metrics.jsonl, tensorboard/, checkpoint-<step>/, best/, loss.svg}`,
        `  resume   ${resumedFrom ? `${resumedFrom} at step ${state.global_step} (epoch ${state.epoch}, batch ${state.batch_in_epoch})` : 'no'}`,
        `  config   ${JSON.stringify(config)}`,
      ].join('\n'),
    );

    const history: MetricsRecord[] = [];
    const record = async (r: MetricsRecord) => {
      history.push(r);
      logFile?.write(`${new Date().toISOString()} ${r.split} ${JSON.stringify(r)}\n`);
      await metricsLog.append(r);
      events!.scalars(r.step, Object.fromEntries(Object.entries(r).filter(([k, v]) => typeof v === 'number' && k !== 'step' && k !== 'epoch').map(([k, v]) => [`${r.split}/${k}`, v as number])));
      options.onLog?.(r);
    };
    const progressOptions = { label: 'train', total: totalSteps, unit: 'step', stream: logStream ?? undefined, enabled: logStream !== null };
    progress = new Progress(progressOptions);
    progress.tick(state.global_step);

    // 7) the loop
    let stopped: TrainResult['stopped'] = 'completed';
    // A run resumed at its last step trains nothing more: its checkpoint is still the last one.
    let lastCheckpoint: string | null = resumedFrom;
    let lastEvalStep = -1;
    // Sums over the log window of the step means (loss, the task's trainMetrics), and tokens.
    const newWindow = () => ({ steps: 0, loss: 0, metrics: zeros(metricNames), tokens: 0, startedAt: performance.now() });
    let window = newWindow();
    const rng = new Rng(state.rng as unknown as RngState);
    const accum = config.grad_accum_steps;
    // Several one-micro-batch steps per engine call, where the engine can (steps_per_run).
    const runSize = accum === 1 ? Math.max(1, Math.min(config.steps_per_run, engine.maxStepsPerRun ?? 1)) : 1;
    // Steps of the current engine call still to be taken (their results are the engine's already).
    let inRun = 0;
    epochs: for (let epoch = state.epoch; config.max_steps > 0 || epoch < config.epochs; epoch++) {
      if (state.global_step >= totalSteps) break;
      // 7a) this epoch's example order and batch-stream seed, drawn from the RNG as it stood at the
      //     epoch start: trainer_state.json keeps that state, so a resume redraws the same order
      const epochStartRng = [...rng.state()];
      const order = epochOrder(rng, numExamples, config.batch_size, config.group_by_length ? (i) => task.exampleLength!(i) : undefined);
      const epochSeed = rng.nextUint32() | 0;
      const firstBatch = epoch === state.epoch ? state.batch_in_epoch : 0;
      let groupLoss = 0;
      let groupMetrics = zeros(metricNames);
      let groupTokens = 0;
      // Micro-batch i of this epoch: its examples and context (step: optimizer steps before it).
      const microBatch = (i: number, step: number): { indices: number[]; ctx: StepContext } => ({
        indices: order.slice(i * config.batch_size, (i + 1) * config.batch_size),
        ctx: { epoch, batchIndex: i, step, rng: Rng.derive(epochSeed, i), training: true },
      });
      // What the intervals make due after step `done` (`epochEnd`: it ends the epoch), read by
      // the loop below and by quietAfter. `save` is null without save_every_steps: a checkpoint
      // then goes with each evaluation (each epoch end without one).
      const dueAt = (done: number, epochEnd: boolean) => ({
        log: done % config.log_every_steps === 0,
        evaluate: task.evaluate !== undefined && (config.eval_every_steps > 0 ? done % config.eval_every_steps === 0 : epochEnd),
        save: config.save_every_steps > 0 ? done % config.save_every_steps === 0 : null,
        hooks: periodic.filter((hook) => done % hook.everySteps === 0),
      });
      // Whether nothing reads the weights after step `done` (ending with micro-batch b of this
      // epoch): not the last step or the epoch's last batch, and no log record, evaluation, hook
      // or checkpoint due. Only such a step may be followed by another in the same engine call.
      const quietAfter = (done: number, b: number): boolean => {
        if (done >= totalSteps || b + 1 >= batchesPerEpoch) return false;
        const due = dueAt(done, false);
        return !due.log && !due.evaluate && !due.save && due.hooks.length === 0;
      };
      for (let b = firstBatch; b < batchesPerEpoch; b++) {
        // 7b) one micro-batch: loss / (micro-batches in this group), gradients summed. The last
        //     group of an epoch may be short (k < grad_accum_steps): dividing by k makes its step
        //     the mean over the examples it saw, like one smaller batch, not a 1/accum-scaled one.
        const groupStart = b - (b % accum);
        const groupSize = Math.min(accum, batchesPerEpoch - groupStart);
        const { indices, ctx } = microBatch(b, state.global_step);
        // The LR of this group's optimizer step (global_step moves at the group boundary).
        const lr = lrAt(state.global_step, schedule);
        // A call of several steps: this one and the following steps while the one before ends
        // quietly (nothing reads the weights after it), up to runSize, within the epoch, the
        // calls aligned to multiples of runSize.
        const ahead: AheadStep[] = [];
        const startsCall = inRun === 0;
        if (runSize > 1 && startsCall) {
          for (let done = state.global_step + 1; ahead.length + 1 < runSize && done % runSize !== 0 && quietAfter(done, b + ahead.length); done++) {
            const later = microBatch(b + ahead.length + 1, done);
            ahead.push({ ...later, lr: lrAt(done, schedule) });
          }
          inRun = ahead.length + 1;
        }
        // The micro-batch after this call (its step counted if it starts a group), told early so
        // the engine can build it while this call runs.
        const nextStep = state.global_step + ((b + 1) % accum === 0 ? 1 : 0) + ahead.length;
        const nextBatch = b + 1 + ahead.length;
        if (engine.prefetch && startsCall && nextBatch < batchesPerEpoch && nextStep < totalSteps) {
          const next = microBatch(nextBatch, nextStep);
          engine.prefetch(next.indices, next.ctx);
        }
        const micro = await engine.microStep(indices, ctx, groupSize, lr, ahead.length > 0 ? ahead : undefined);
        if (inRun > 0) inRun -= 1;
        const microLoss = micro.loss;
        groupTokens += micro.tokens;
        if (!Number.isFinite(microLoss)) {
          throw new RangeError(`train: task "${task.name}" loss is ${microLoss} at epoch ${epoch}, batch ${b} (step ${state.global_step})`);
        }
        groupLoss += microLoss / groupSize;
        const microMetrics = checkStepMetrics(task.name, engine.name, metricNames, micro.metrics ?? {});
        for (const name of metricNames) groupMetrics[name] += microMetrics[name] / groupSize;
        if (b - groupStart + 1 < groupSize) continue;

        // 7c) group boundary: clip the summed gradient once, update at this step's LR, EMA
        const gradNorm = await engine.optimizerStep(lr);
        const epochEnd = b + 1 === batchesPerEpoch;
        state = {
          ...state,
          global_step: state.global_step + 1,
          // where to continue: the next batch of this epoch, or the start of the next epoch
          epoch: epochEnd ? epoch + 1 : epoch,
          batch_in_epoch: epochEnd ? 0 : b + 1,
          rng: epochEnd ? [...rng.state()] : epochStartRng,
        };
        const step = state.global_step;
        const last = step >= totalSteps;
        const due = dueAt(step, epochEnd);
        // Out of time: this step ends the run as the last one would (log, evaluate, hooks, save).
        // Checked where an engine call ends (the engine's weights are this step's there).
        const callEnds = inRun === 0;
        const outOfTime = config.max_seconds > 0 && !last && callEnds && (clock() - calledAt) / 1000 >= config.max_seconds;

        // 7d) log: mean step loss (and the task's trainMetrics) over the window, LR, grad norm
        //     (before clipping), tokens/s
        window.steps += 1;
        window.loss += groupLoss;
        for (const name of metricNames) window.metrics[name] += groupMetrics[name];
        window.tokens += groupTokens;
        const seconds = (performance.now() - window.startedAt) / 1000;
        // Progress renders its label on each redraw, so the live figures ride in the label.
        progressOptions.label = `train loss ${groupLoss.toFixed(4)} lr ${lr.toExponential(2)} ${Math.round(window.tokens / Math.max(seconds, 1e-9))} tok/s`;
        progress.tick();
        if (due.log || last || outOfTime) {
          const means = Object.fromEntries(metricNames.map((name) => [name, window.metrics[name] / window.steps]));
          const loss = window.loss / window.steps;
          await record({ step, epoch, split: 'train', loss, ...means, lr, grad_norm: gradNorm, tokens_per_s: window.tokens / Math.max(seconds, 1e-9) });
          // The task's metrics do not fit on the progress line: a line of their own per record.
          if (metricNames.length > 0) sayAboveProgress(`train step ${step}: ${Object.entries({ loss, ...means }).map(([k, v]) => `${k} ${Number(v.toPrecision(5))}`).join(' ')}`);
          window = newWindow();
        }
        groupLoss = 0;
        groupMetrics = zeros(metricNames);
        groupTokens = 0;

        // 7e) evaluate (EMA weights swapped in), keep best/, early stopping
        let stopEarly = false;
        if (task.evaluate && (due.evaluate || last || outOfTime)) {
          lastEvalStep = step;
          const evaluate = task.evaluate.bind(task);
          await engine.withEvalWeights(async () => {
            const metrics = checkMetrics(task.name, await evaluate({ epoch, step }));
            await record({ step, epoch, split: 'dev', ...metrics });
            const verdict = updateEarlyStopping(config.early_stopping, state.early_stopping, metrics, step);
            state = { ...state, early_stopping: verdict.state };
            if (verdict.improved) {
              state = { ...state, best_metric: verdict.state.best, best_step: step };
              await saveBest(runDir, { state, task });
            }
            stopEarly = verdict.stop;
          });
        }

        // 7e') periodic hooks (samples, …) on the weights evaluation sees
        const hooksDue = last || stopEarly || outOfTime ? periodic : due.hooks;
        if (hooksDue.length > 0) {
          await engine.withEvalWeights(async () => {
            for (const hook of hooksDue) await hook.run({ epoch, step });
          });
        }

        // 7f) checkpoint: every save_every_steps, else at each evaluation (each epoch without
        //     evaluate); always at the end, on early stop, time limit and abort, so the run can continue
        const aborted = options.signal?.aborted === true && callEnds;
        const saveDue = due.save ?? (task.evaluate ? lastEvalStep === step : epochEnd);
        if (saveDue || last || stopEarly || aborted || outOfTime) {
          await engine.syncToTask();
          lastCheckpoint = await saveCheckpoint(runDir, { state, task, optimizer, ema }, config.save_total_limit);
        }
        if (stopEarly || aborted || outOfTime || last) {
          stopped = stopEarly ? 'early_stopping' : last ? 'completed' : outOfTime ? 'time_limit' : 'aborted';
          break epochs;
        }
      }
    }
    progress.finish();
    await engine.syncToTask();

    // 8) the loss plot of the whole run (records before a resume included)
    await writeFileAtomic(join(runDir, 'loss.svg'), renderLossPlot(lossPlotPanels(await readMetricsLog(join(runDir, 'metrics.jsonl')), metricNames)));
    say(`train: ${stopped} at step ${state.global_step}/${totalSteps}` + (state.best_metric === null ? '' : `, best ${config.early_stopping.metric} ${state.best_metric} at step ${state.best_step}`));
    return {
      stopped,
      global_step: state.global_step,
      total_steps: totalSteps,
      best_metric: state.best_metric,
      best_step: state.best_step,
      history,
      run_dir: runDir,
      last_checkpoint: lastCheckpoint,
      config,
    };
  } finally {
    // Frees the trainer's own tensors even when the task throws; the task's Variables stay.
    await engine.dispose();
    events?.close();
    const file = logFile as WriteStream | null;
    if (file) await new Promise<void>((done) => file.end(done));
  }
}

/**
 * The trainable parameters whose lr is config.head_lr_scale times the schedule's: those the task
 * reports as new. A scale other than 1 on a task that reports none is an error, not a no-op.
 */
function headLrScaled<B>(config: TrainConfig, task: TrainTask<B>, all: ReadonlyMap<string, tf.Variable>, trainable: ReadonlyMap<string, tf.Variable>): Set<string> {
  if (config.head_lr_scale === 1) return new Set();
  const fresh = task.newParameters?.();
  if (fresh === undefined || fresh.size === 0) {
    throw new RangeError(`train: head_lr_scale is ${config.head_lr_scale} but task "${task.name}" reports no newly initialized parameters (newParameters()); use lr to change every parameter's`);
  }
  for (const name of fresh) if (!all.has(name)) throw new RangeError(`train: task "${task.name}".newParameters() names "${name}", which is not one of its params()`);
  return new Set([...fresh].filter((name) => trainable.has(name)));
}

const RESERVED_KEYS = new Set(['step', 'epoch', 'split']);
/** The fields of a train record that `train()` itself writes. */
const TRAIN_RECORD_KEYS = new Set([...RESERVED_KEYS, 'loss', 'lr', 'grad_norm', 'tokens_per_s']);

/** The names of the task's trainMetrics: distinct, non-empty, none a train record field of its own. */
function checkTrainMetricNames<B>(task: TrainTask<B>): readonly string[] {
  const names = task.trainMetrics?.names ?? [];
  for (const name of names) {
    if (name === '' || TRAIN_RECORD_KEYS.has(name)) throw new RangeError(`train: task "${task.name}".trainMetrics names "${name}", which is ${name === '' ? 'empty' : 'a field of the train records'}`);
  }
  if (new Set(names).size !== names.length) throw new RangeError(`train: task "${task.name}".trainMetrics repeats a name: [${names.join(', ')}]`);
  return names;
}

/** An engine's metrics of one micro-batch must be exactly the declared ones, as numbers. */
function checkStepMetrics(taskName: string, engineName: string, names: readonly string[], metrics: Record<string, number>): Record<string, number> {
  const got = Object.keys(metrics);
  if (got.length !== names.length || names.some((name) => typeof metrics[name] !== 'number')) {
    throw new RangeError(`train: task "${taskName}" declares trainMetrics [${names.join(', ')}] but a micro-step on engine ${engineName} returned [${got.join(', ')}]`);
  }
  return metrics;
}

const zeros = (names: readonly string[]): Record<string, number> => Object.fromEntries(names.map((name) => [name, 0]));

/** evaluate() must return numbers under names that do not clash with the record's own fields. */
function checkMetrics(taskName: string, metrics: Record<string, number>): Record<string, number> {
  for (const [key, value] of Object.entries(metrics)) {
    if (RESERVED_KEYS.has(key)) throw new RangeError(`train: task "${taskName}".evaluate() returned reserved key "${key}"`);
    if (typeof value !== 'number') throw new TypeError(`train: task "${taskName}".evaluate() returned ${key}=${JSON.stringify(value)}; metrics must be numbers`);
  }
  return metrics;
}

/**
 * Panel 1: train and dev loss; then one panel per other dev metric and per task train metric
 * (`trainMetricNames`), train and dev together where both have it (a MoE model's aux_loss).
 */
function lossPlotPanels(records: MetricsRecord[], trainMetricNames: readonly string[]): PlotPanel[] {
  const series = (split: string, key: string) => ({
    name: `${split} ${key}`,
    points: records.filter((r) => r.split === split && typeof r[key] === 'number').map((r) => [r.step, r[key] as number] as const),
  });
  const both = (key: string) => [series('train', key), series('dev', key)].filter((s) => s.points.length > 0);
  const devKeys = [...new Set(records.filter((r) => r.split === 'dev').flatMap((r) => Object.keys(r)))].filter((k) => !['step', 'epoch', 'split', 'loss'].includes(k));
  return [
    { title: 'loss', series: both('loss') },
    ...devKeys.map((k) => (trainMetricNames.includes(k) ? { title: k, series: both(k) } : { title: `dev ${k}`, series: [series('dev', k)] })),
    ...trainMetricNames.filter((k) => !devKeys.includes(k)).map((k) => ({ title: `train ${k}`, series: [series('train', k)] })),
  ];
}
