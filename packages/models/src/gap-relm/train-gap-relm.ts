import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@proj/core';
import type { GapRelmDecodeConfig } from '@proj/sampling';
import { listCheckpoints, parseTrainConfig, train, type TrainConfigInput, type TrainResult } from '@proj/trainer';
import type { ExampleSource } from './example-source';
import type { GapRelm } from './gap-relm';
import { STAGES, createStageTask, type StageName } from './tasks';

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
   */
  resumeFrom?: string;
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
  const bestInfo = join(options.resumeFrom ?? outputDir, 'best', BEST_INFO);
  if (options.resumeFrom !== undefined && existsSync(bestInfo)) best = (JSON.parse(await readFile(bestInfo, 'utf8')) as { f1: number }).f1;
  let evaluated = best > -Infinity;

  const results: TrainGapRelmResult['stages'] = [];
  let resuming = options.resumeFrom !== undefined;
  for (const stage of stages) {
    const stageDir = join(outputDir, stage);
    const config: TrainConfigInput = { ...options.trainConfig, ...options.stageOverrides?.[stage], output_dir: stageDir };

    // Resume: a finished stage is skipped (its last weights loaded); the first unfinished one continues.
    let resumeFrom: string | undefined;
    if (resuming) {
      const earlier = join(options.resumeFrom as string, stage);
      const done = join(earlier, STAGE_DONE);
      if (existsSync(done)) {
        const result = JSON.parse(await readFile(done, 'utf8')) as TrainResult;
        if (result.last_checkpoint === null) throw new Error(`trainGapRelm: ${done} names no last checkpoint to resume from`);
        await model.loadWeights(result.last_checkpoint);
        say(`trainGapRelm: ${stage} already finished in ${earlier} (step ${result.global_step}); weights loaded from ${result.last_checkpoint}`);
        results.push({ name: stage, result });
        continue;
      }
      if ((await listCheckpoints(earlier)).length > 0) resumeFrom = earlier;
      resuming = false;
    }

    const task = createStageTask(stage, model, {
      train: options.train,
      dev: options.dev,
      decode: options.decode,
      devEvalLimit: options.devEvalLimit,
      totalSteps: stageSteps(config, options.train.length),
      log: logStream,
    });
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
    say(`trainGapRelm: ${stage}${resumeFrom ? ` (resuming from ${resumeFrom})` : ''}`);
    const result = await train(config, task, { resumeFrom, log: logStream });
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
