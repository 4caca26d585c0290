import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '@proj/core';
import type { GapRelmDecodeConfig } from '@proj/sampling';
import { listCheckpoints, parseTrainConfig, removeStaleDirs, train, type TrainConfigInput, type TrainResult } from '@proj/trainer';
import type { ExampleSource } from './example-source';
import { createOnnxEngine, type OnnxEngineOptions } from '../train-engine/onnx-engine';
import type { GapRelm } from './gap-relm';
import { createOpsStageTask } from './ops-stage-task';
import { STAGES, type StageName } from './tasks';

export interface TrainGapRelmOptions {
  model: GapRelm;
  train: ExampleSource;
  /** Dev examples: each evaluation reports loss and sentence-level correction P/R/F1. */
  dev?: ExampleSource;
  /** Stages in the order run; default infiller_pretrain, planner_train, joint_finetune. */
  stages?: StageName[];
  /** Shared by every stage; its `output_dir`, if any, is ignored: each stage runs in `<outputDir>/<stage>`. */
  trainConfig: TrainConfigInput;
  /** Per-stage changes (epochs, lr, ...) on top of `trainConfig`. */
  stageOverrides?: Partial<Record<StageName, Partial<TrainConfigInput>>>;
  /** Decoding for the dev F1. */
  decode?: Partial<GapRelmDecodeConfig>;
  /** Dev examples scored per evaluation; default 200. */
  devEvalLimit?: number;
  outputDir: string;
  /** Banner, progress and stage lines; default process.stderr, null = silent. */
  log?: NodeJS.WritableStream | null;
  /**
   * An earlier trainGapRelm output dir: stages it finished are skipped (their final weights are
   * loaded), the first unfinished stage continues from its newest checkpoint, later ones run fresh.
   * Or one of its `<stage>/checkpoint-<step>` dirs: the stages before are loaded, that stage
   * continues from that checkpoint. See resolveGapRelmResume.
   */
  resumeFrom?: string;
  /**
   * Where the steps of the stage tasks (`createOpsStageTask`) run: 'tfjs' (default) or 'onnx'
   * (onnxruntime; dev evaluation too). Both give the same losses and weights within float
   * rounding and share one checkpoint format.
   */
  engine?: 'tfjs' | 'onnx';
  /** onnxruntime sessions of the 'onnx' engine (providers, threads, log). */
  onnx?: OnnxEngineOptions;
  /**
   * Wall-clock seconds for the stages this call trains (setup included): each stage gets the
   * trainer's `max_seconds` = the seconds left × its share of the shares of the stages still to
   * run (default share: its planned optimizer steps; give per-step costs × steps when stages
   * differ in step time), so time one stage leaves passes to the next. Steps and LR schedules are
   * planned as without it; a stage stopped by it counts as finished. 0 or omitted: no limit.
   */
  timeBudget?: { seconds: number; shares?: Partial<Record<StageName, number>> };
}

export interface TrainGapRelmResult {
  stages: { name: StageName; result: TrainResult }[];
  finalDir: string;
  /** The model with the best dev F1 over all stages, when evaluation ran. */
  bestDir?: string;
}

/** Written into a stage dir when the stage finished: what resume skips. */
const STAGE_DONE = 'gap_relm_stage.json';
/** Written into best/: the F1 it scored, so a resumed run only replaces it with a better one. */
const BEST_INFO = 'gap_relm_best.json';

/** Where a resume starts: the earlier run dir and, for a checkpoint dir, its stage and checkpoint. */
export interface GapRelmResumePoint {
  runDir: string;
  stage?: StageName;
  checkpoint?: string;
}

/**
 * Resolves `resumeFrom`: a trainGapRelm output dir (one holding a stage dir), one of its stage
 * dirs, or a `<stage>/checkpoint-<step>` dir. A missing path or any other dir is an error, never a
 * silent fresh start.
 */
export function resolveGapRelmResume(path: string): GapRelmResumePoint {
  const fn = 'resolveGapRelmResume';
  if (!existsSync(path)) throw new RangeError(`${fn}: ${path} does not exist`);
  const name = basename(path);
  const parent = basename(dirname(path));
  if (/^checkpoint-\d+$/.test(name) && STAGES.includes(parent as StageName)) {
    if (!existsSync(join(path, 'trainer_state.json'))) throw new RangeError(`${fn}: ${path} is not a complete checkpoint (no trainer_state.json)`);
    return { runDir: dirname(dirname(path)), stage: parent as StageName, checkpoint: path };
  }
  if (STAGES.includes(name as StageName)) return { runDir: dirname(path) };
  if (STAGES.some((stage) => existsSync(join(path, stage)))) return { runDir: path };
  throw new RangeError(`${fn}: ${path} is neither a Gap-ReLM training run (a dir holding ${STAGES.join(', ')}) nor a <stage>/checkpoint-<step> dir of one`);
}

/**
 * resolveGapRelmResume, and the checks a resume into `outputDir` with `stages` needs before any
 * work: a checkpoint's stage must be one of `stages`, and continuing a run from an earlier
 * stage's checkpoint in its own dir must not meet later stages' checkpoints of the first attempt
 * (they would be trained again over them).
 */
export async function checkGapRelmResume(path: string, outputDir: string, stages: readonly StageName[]): Promise<GapRelmResumePoint> {
  const point = resolveGapRelmResume(path);
  if (point.stage === undefined) return point;
  if (!stages.includes(point.stage)) throw new RangeError(`trainGapRelm: resumeFrom ${point.checkpoint} is a ${point.stage} checkpoint, but stages are ${stages.join(', ')}`);
  if (resolve(point.runDir) !== resolve(outputDir)) return point;
  for (const later of stages.slice(stages.indexOf(point.stage) + 1)) {
    const dir = join(outputDir, later);
    if ((await listCheckpoints(dir)).length > 0) {
      throw new RangeError(`trainGapRelm: resuming ${outputDir} from ${point.checkpoint} would train ${later} again over the checkpoints in ${dir}; resume into another output dir, or remove ${dir}`);
    }
  }
  return point;
}

/**
 * The checkpoint a finished stage's marker stands for: the one it names when that is complete,
 * else the stage's newest (a stage resumed at its last step, or a marker whose checkpoint was
 * pruned, names none or a missing one).
 */
async function finishedStageCheckpoint(stageDir: string, named: string | null): Promise<string | null> {
  if (named !== null && existsSync(join(named, 'trainer_state.json'))) return named;
  const all = await listCheckpoints(stageDir);
  return all.length > 0 ? all[all.length - 1].path : null;
}

/** Saves into a temp dir and renames it into place, so `dir` is always a complete model. */
async function saveModelDir(model: GapRelm, dir: string, extra?: { file: string; json: unknown }): Promise<void> {
  const temp = `${dir}.tmp-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  await rm(temp, { recursive: true, force: true });
  await model.save(temp);
  if (extra) await writeFileAtomic(join(temp, extra.file), `${JSON.stringify(extra.json, null, 2)}\n`);
  if (existsSync(dir)) await rename(dir, old);
  await rename(temp, dir);
  await rm(old, { recursive: true, force: true });
}

/** Optimizer steps of a stage, as the trainer counts them (for the scheduled-sampling ramp). */
function stageSteps(config: TrainConfigInput, numExamples: number): number {
  const c = parseTrainConfig(config);
  if (c.max_steps > 0) return c.max_steps;
  return c.epochs * Math.ceil(Math.ceil(numExamples / c.batch_size) / c.grad_accum_steps);
}

/**
 * Trains a Gap-ReLM stage by stage with `train()` of @proj/trainer, each stage in
 * `<outputDir>/<stage>/` (config, metrics, checkpoints, best/ as the trainer writes them), then
 * saves the final model to `<outputDir>/final/` and, when evaluation ran, the best model by dev F1
 * over all stages to `<outputDir>/best/`. Stages share the model's Variables; each starts a fresh
 * optimizer and LR schedule.
 */
export async function trainGapRelm(options: TrainGapRelmOptions): Promise<TrainGapRelmResult> {
  const { model, outputDir } = options;
  const stages = options.stages ?? [...STAGES];
  for (const s of stages) if (!STAGES.includes(s)) throw new RangeError(`trainGapRelm: stages holds ${JSON.stringify(s)}; known stages: ${STAGES.join(', ')}`);
  if (new Set(stages).size !== stages.length) throw new RangeError(`trainGapRelm: stages lists a stage twice: ${stages.join(', ')}`);
  for (const key of Object.keys(options.stageOverrides ?? {})) {
    if (!STAGES.includes(key as StageName)) throw new RangeError(`trainGapRelm: stageOverrides has unknown stage ${JSON.stringify(key)}`);
  }
  const logStream = options.log === undefined ? process.stderr : options.log;
  const say = (line: string) => logStream?.write(`${line}\n`);
  say(`trainGapRelm: stages ${stages.join(' → ')} into ${outputDir}`);
  say(`  model config ${JSON.stringify(model.config)}`);
  say(`  train ${options.train.describe()}${options.dev ? `; dev ${options.dev.describe()} (first ${options.devEvalLimit ?? 200} scored)` : ''}`);

  // The best dev F1 so far (carried over from best/ on resume, so it is only ever improved on).
  const bestDir = join(outputDir, 'best');
  let best = -Infinity;
  const resumePoint = options.resumeFrom === undefined ? null : await checkGapRelmResume(options.resumeFrom, outputDir, stages);
  // best/ and final/ written half-way by a killed run (temp dirs, a version moved aside).
  await removeStaleDirs(outputDir);
  const bestInfo = join(resumePoint?.runDir ?? outputDir, 'best', BEST_INFO);
  if (resumePoint !== null && existsSync(bestInfo)) best = (JSON.parse(await readFile(bestInfo, 'utf8')) as { f1: number }).f1;
  let evaluated = best > -Infinity;

  const results: TrainGapRelmResult['stages'] = [];
  let resuming = resumePoint !== null;
  const budget = options.timeBudget?.seconds ?? 0;
  if (!(budget >= 0)) throw new RangeError(`trainGapRelm: timeBudget.seconds must be >= 0, got ${budget}`);
  const startedAt = performance.now();
  const stageConfig = (stage: StageName): TrainConfigInput => ({ ...options.trainConfig, ...options.stageOverrides?.[stage], output_dir: join(outputDir, stage) });
  const share = (stage: StageName): number => {
    const given = options.timeBudget?.shares?.[stage];
    if (given !== undefined && !(given > 0)) throw new RangeError(`trainGapRelm: timeBudget.shares.${stage} must be > 0, got ${given}`);
    return given ?? stageSteps(stageConfig(stage), options.train.length);
  };
  for (const [index, stage] of stages.entries()) {
    const stageDir = join(outputDir, stage);
    const config: TrainConfigInput = stageConfig(stage);

    // Resume: a finished stage is skipped (its last weights loaded); the first unfinished one continues.
    let resumeFrom: string | undefined;
    if (resuming) {
      const point = resumePoint as GapRelmResumePoint;
      const earlier = join(point.runDir, stage);
      const done = join(earlier, STAGE_DONE);
      if (point.stage !== stage && existsSync(done)) {
        const result = JSON.parse(await readFile(done, 'utf8')) as TrainResult;
        const checkpoint = await finishedStageCheckpoint(earlier, result.last_checkpoint);
        if (checkpoint === null) throw new Error(`trainGapRelm: ${done} marks ${stage} finished but ${earlier} holds no checkpoint-<step>/ to load`);
        await model.loadWeights(checkpoint);
        say(`trainGapRelm: ${stage} already finished in ${earlier} (step ${result.global_step}); weights loaded from ${checkpoint}`);
        results.push({ name: stage, result: { ...result, last_checkpoint: checkpoint } });
        continue;
      }
      if (point.stage !== undefined && point.stage !== stage) {
        throw new Error(`trainGapRelm: cannot resume from ${point.checkpoint}: the earlier stage ${stage} did not finish in ${earlier}`);
      }
      if (point.checkpoint !== undefined) resumeFrom = point.checkpoint;
      else if ((await listCheckpoints(earlier)).length > 0) resumeFrom = earlier;
      resuming = false;
    }

    const taskOptions = {
      train: options.train,
      dev: options.dev,
      decode: options.decode,
      devEvalLimit: options.devEvalLimit,
      // The onnx engine evaluates on onnxruntime too; tfjs-wasm took minutes per evaluation.
      ...(options.engine === 'onnx' ? { evalEngine: 'onnx' as const, evalSessions: { executionProviders: options.onnx?.executionProviders, intraOpNumThreads: options.onnx?.intraOpNumThreads } } : {}),
      totalSteps: stageSteps(config, options.train.length),
      log: logStream,
    };
    if (stage === 'planner_train' && model.config.planner_init === 'infiller' && resumeFrom === undefined) {
      const copied = model.copyInfillerEncoderIntoPlanner();
      say(`trainGapRelm: planner_train starts from the infiller's encoder (planner_init infiller: ${copied} tensors copied)`);
    }
    const task = createOpsStageTask(stage, model, taskOptions);
    const baseEvaluate = task.evaluate;
    if (baseEvaluate) {
      // Keep the best model by dev F1 across stages (the trainer's best/ is per stage and by its metric).
      task.evaluate = async (ctx) => {
        const metrics = await baseEvaluate(ctx);
        evaluated = true;
        if (metrics.f1 > best) {
          best = metrics.f1;
          await saveModelDir(model, bestDir, { file: BEST_INFO, json: { f1: metrics.f1, stage, step: ctx.step, metrics } });
        }
        return metrics;
      };
    }
    if (budget > 0) {
      // Never 0 (no limit): a stage whose share is used up still runs one step.
      const left = budget - (performance.now() - startedAt) / 1000;
      const shareLeft = stages.slice(index).reduce((sum, s) => sum + share(s), 0);
      config.max_seconds = Math.max(1e-3, (left * share(stage)) / shareLeft);
      say(`trainGapRelm: ${stage} gets ${config.max_seconds.toFixed(0)} s of the ${Math.max(0, left).toFixed(0)} s left of the ${budget.toFixed(0)} s budget`);
    }
    say(`trainGapRelm: ${stage}${resumeFrom ? ` (resuming from ${resumeFrom})` : ''}`);
    const result = await train(config, task, { resumeFrom, log: logStream, engine: options.engine === 'onnx' ? createOnnxEngine(options.onnx) : undefined });
    if (stage === 'joint_finetune') {
      const s = task.stats;
      say(`trainGapRelm: joint_finetune scheduled sampling in ${s.scheduledBatches}/${s.batches} batches (infill loss kept for ${s.examplesKept}, skipped for ${s.examplesSkipped} examples)`);
    }
    await writeFileAtomic(join(stageDir, STAGE_DONE), `${JSON.stringify(result, null, 2)}\n`);
    results.push({ name: stage, result });
  }

  const finalDir = join(outputDir, 'final');
  await saveModelDir(model, finalDir);
  say(`trainGapRelm: final model in ${finalDir}${evaluated ? `; best dev F1 ${best.toFixed(4)} in ${bestDir}` : ''}`);
  return { stages: results, finalDir, ...(evaluated && existsSync(bestDir) ? { bestDir } : {}) };
}
