// The host-side parts of a Gap-ReLM stage task (`createOpsStageTask`): trainable sets, batch
// encoding, scheduled sampling and dev evaluation.
import * as tf from '@tensorflow/tfjs-core';
import { PlannerOp, buildTemplate } from '@proj/align';
import type { Rng } from '@proj/core';
import { cscMetrics } from '@proj/metrics';
import type { Correction } from '@proj/sampling';
import type { StepContext } from '@proj/trainer';
import { OnnxGapRelm } from '../onnx-runtime/gap-relm-onnx';
import { TfOps } from '../ops/tf-ops';
import type { ExampleSource } from './example-source';
import { GapRelm } from './gap-relm';
import { INFILLER } from './infiller';
import { firstTokenPosition, infillerInputs, type InfillerInputs, type PaddedInputs } from './inputs';
import { PLANNER } from './planner';
import { AUX_MLM_RATE, scheduledSamplingProbability, type ScheduledSamplingStats, type StageName, type StageTaskOptions } from './tasks';
import { encodeExample, type EncodedExample } from './tokens';

/** Which parameters a stage trains: the planner's or the infiller's (with their prompts), or all. */
export function stageTrainable(stage: StageName, model: GapRelm): (name: string) => boolean {
  const plannerPrompt = GapRelm.promptPrefix(model.config, 'planner');
  const infillerPrompt = GapRelm.promptPrefix(model.config, 'infiller');
  return (name) => {
    if (stage === 'joint_finetune') return true;
    // A shared encoder (and, for its BERT-CSC term, the MLM head) is the infiller's: the planner trains it too.
    if (stage === 'planner_train') return name.startsWith(PLANNER) || name.startsWith(plannerPrompt) || (model.config.share_encoder && name.startsWith(model.config.aux_csc_weight > 0 ? INFILLER : `${INFILLER}bert.`));
    return name.startsWith(INFILLER) || name.startsWith(infillerPrompt);
  };
}

/** The training examples of a micro-batch, encoded; an example over max_insert_k is an error naming it. */
export async function encodeBatch(model: GapRelm, stage: StageName, source: ExampleSource, indices: readonly number[], ctx: StepContext): Promise<EncodedExample[]> {
  const cfg = model.config;
  const encode = async (index: number): Promise<EncodedExample | null> => {
    const e = encodeExample(await source.get(index, ctx.epoch), model.ids, model.budget, `train example ${index} of ${source.describe()}`);
    if (e !== null) {
      const k = e.insertLabels.findIndex((c) => c > cfg.max_insert_k);
      if (k >= 0) throw new RangeError(`train example ${index}: insert_labels[${k}] = ${e.insertLabels[k]} exceeds max_insert_k ${cfg.max_insert_k}`);
    }
    return e;
  };
  const examples = (await Promise.all(indices.map(encode))).filter((e): e is EncodedExample => e !== null);
  if (examples.length === 0) throw new RangeError(`${stage}: batch ${ctx.batchIndex} of epoch ${ctx.epoch} has no example that fits max_position_embeddings ${model.budget.maxPositions}`);
  return examples;
}

/**
 * Training only (`template_mask_rate`): a further `rate` of each gold template's kept tokens
 * masked for the infiller to predict, as ReLM predicts every target token. Most are copies of the
 * aligned source token, so the infiller learns to read the source segment on easy cases and gets
 * several predictions per example where the gold masks give about one and a half. Gold templates
 * only (scheduled sampling keeps the infill loss only where the predicted template equals the gold
 * one), never at dev or decode time. Draws nothing when `rate` is 0.
 */
export function maskKeptTemplateTokens(examples: readonly EncodedExample[], rate: number, maskId: number, rng: Rng): EncodedExample[] {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`maskKeptTemplateTokens: rate must be in [0, 1], got ${rate}`);
  if (rate === 0) return examples.slice();
  return examples.map((e) => {
    const masked = new Set(e.maskPositions);
    const kept = e.template.flatMap((_, j) => (masked.has(j) ? [] : [j]));
    const extra = rng.sampleIndices(kept.length, Math.round(rate * kept.length)).map((k) => kept[k]);
    if (extra.length === 0) return e;
    const goldAt = new Map<number, number>(e.maskPositions.map((p, k) => [p, e.gold[k]]));
    for (const j of extra) goldAt.set(j, e.template[j]);
    const maskPositions = [...goldAt.keys()].sort((a, b) => a - b);
    const template = e.template.slice();
    for (const j of extra) template[j] = maskId;
    return { ...e, template, maskPositions, gold: maskPositions.map((p) => goldAt.get(p)!) };
  });
}

/** The planner's argmax templates on the model's Variables, no gradient (scheduled sampling). */
async function predictedTemplates(model: GapRelm, examples: EncodedExample[]): Promise<number[][]> {
  const cfg = model.config;
  const x = model.plannerInputs(examples.map((e) => e.source));
  const [opArg, insArg] = tf.tidy(() => {
    const out = model.planner(new TfOps(model.store), GapRelm.tensors(x));
    return [tf.argMax(out.opLogits, 2), tf.argMax(out.insertLogits, 2)];
  });
  const [op, ins] = (await Promise.all([opArg.data(), insArg.data()])) as Int32Array[];
  tf.dispose([opArg, insArg]);
  const slots = opArg.shape[1] as number;
  return examples.map((e, b) => {
    const n = e.source.length;
    const opLabels = Array.from(op.subarray(b * slots, b * slots + n + 1), (v): number => (cfg.no_delete && v === PlannerOp.DELETE ? PlannerOp.KEEP : v));
    opLabels[0] = PlannerOp.KEEP;
    const insertLabels = Array.from(ins.subarray(b * slots, b * slots + n + 1), (v) => (cfg.no_insert ? 0 : v));
    return model.ids.ids(buildTemplate(e.sourceTokens, opLabels, insertLabels).template_tokens);
  });
}

/**
 * joint_finetune's scheduled sampling for one batch: with probability p(step) (one `ctx.rng`
 * draw) the templates are the planner's argmax, and the infill loss is kept only for examples
 * whose predicted template equals the gold one. Returns per example whether its infill loss is
 * kept; other stages keep everything and draw nothing.
 */
export async function scheduleBatch(
  stage: StageName,
  model: GapRelm,
  examples: EncodedExample[],
  ctx: StepContext,
  totalSteps: number | undefined,
  stats: ScheduledSamplingStats,
): Promise<boolean[]> {
  const cfg = model.config;
  const infill = examples.map(() => true);
  if (stage !== 'joint_finetune') return infill;
  stats.batches++;
  const p = totalSteps === undefined ? cfg.ss_end : scheduledSamplingProbability(ctx.step, totalSteps, cfg.ss_start, cfg.ss_end);
  if (!(p > 0 && ctx.rng.float() < p)) return infill;
  stats.scheduledBatches++;
  await ctx.weightsReady?.(); // built ahead by an engine: the planner must see this step's weights
  (await predictedTemplates(model, examples)).forEach((t, i) => {
    const same = t.length === examples[i].template.length && t.every((id, j) => id === examples[i].template[j]);
    infill[i] = same;
    if (same) stats.examplesKept++;
    else stats.examplesSkipped++;
  });
  return infill;
}

/** The dev sources corrected on `options.evalEngine`, with the model's current weights. */
export async function decodeDev(model: GapRelm, sources: string[], options: StageTaskOptions): Promise<Correction[]> {
  if (options.evalEngine !== 'onnx') return model.correct(sources, options.decode);
  const sessions = await OnnxGapRelm.fromModel(model, options.evalSessions);
  try {
    return await sessions.correct(sources, options.decode);
  } finally {
    await sessions.release();
  }
}

/** The dev loss of one batch, and without the aux MLM term when it is on. */
export interface DevLoss {
  loss: number;
  withoutAux?: number;
}

/**
 * A stage's evaluate(): the mean of `devLosses` over dev batches (no dropout; with the aux MLM on
 * also `loss_without_aux`, comparable with runs without it) and sentence-level correction P/R/F1
 * of the decoded dev sources on the first `devEvalLimit` dev examples.
 */
export function stageEvaluator(
  stage: StageName,
  model: GapRelm,
  dev: ExampleSource,
  options: StageTaskOptions,
  stats: ScheduledSamplingStats,
  /** The mean loss of each batch of dev examples, in order. */
  devLosses: (batches: EncodedExample[][]) => Promise<DevLoss[]>,
): () => Promise<Record<string, number>> {
  const devLimit = options.devEvalLimit ?? 200;
  const evalBatch = options.evalBatchSize ?? 16;
  let devCache: EncodedExample[] | null = null;
  let devPairs: { source: string; target: string }[] = [];
  return async () => {
    if (devCache === null) {
      const n = Math.min(dev.length, devLimit);
      const raw = await Promise.all(Array.from({ length: n }, (_, i) => dev.get(i, 0)));
      devPairs = raw.map((e) => ({ source: e.source, target: e.target }));
      devCache = raw.map((e, i) => encodeExample(e, model.ids, model.budget, `dev example ${i} of ${dev.describe()}`)).filter((e): e is EncodedExample => e !== null);
    }
    const batches: EncodedExample[][] = [];
    for (let i = 0; i < devCache.length; i += evalBatch) batches.push(devCache.slice(i, i + evalBatch));
    const losses = await devLosses(batches);
    const mean = (pick: (l: DevLoss) => number | undefined) => (batches.length > 0 ? losses.reduce((a, l) => a + pick(l)!, 0) / batches.length : 0);
    const corrected = await decodeDev(model, devPairs.map((p) => p.source), options);
    const m = cscMetrics(devPairs.map((p) => p.source), devPairs.map((p) => p.target), corrected.map((c) => c.corrected)).sentence.correction;
    if (stage === 'joint_finetune' && options.log) {
      options.log.write(`${stage}: scheduled sampling in ${stats.scheduledBatches}/${stats.batches} batches; infill loss kept for ${stats.examplesKept}, skipped for ${stats.examplesSkipped} examples\n`);
    }
    const withoutAux: Record<string, number> = losses.length > 0 && losses[0].withoutAux !== undefined ? { loss_without_aux: mean((l) => l.withoutAux) } : {};
    return { loss: mean((l) => l.loss), ...withoutAux, f1: m.f1, precision: m.precision, recall: m.recall };
  };
}

/** Auxiliary MLM inputs: `[CLS] P source [SEP]` with 15% of each source replaced by [MASK] (drawn from `rng`), and the masked ids. */
export function auxMlmInputs(model: GapRelm, examples: readonly EncodedExample[], rng: Rng): { x: InfillerInputs; labels: Int32Array } {
  const masked: number[][] = [];
  const positions: number[][] = [];
  const labels: number[] = [];
  for (const e of examples) {
    const ids = e.source.slice();
    const chosen = e.source.length === 0 ? [] : rng.sampleIndices(e.source.length, Math.max(1, Math.round(AUX_MLM_RATE * e.source.length))).sort((a, b) => a - b);
    for (const i of chosen) {
      labels.push(ids[i]);
      ids[i] = model.tokenizer.maskId;
    }
    masked.push(ids);
    positions.push(chosen);
  }
  return { x: infillerInputs([], masked, positions, false, model.special), labels: Int32Array.from(labels) };
}

/**
 * Each source token's gold token, for the auxiliary BERT-CSC loss (`aux_csc_weight`): itself when
 * the gold op keeps it, its fill when the gold op replaces it, `ignore` when deleted. Read off the
 * gold labels and fills (the template's masks, in order, are one per REPLACE and one per insert).
 */
export function sourceCorrectionLabels(e: EncodedExample, ignore: number): number[] {
  const labels: number[] = [];
  let fill = e.insertLabels[0];
  for (let slot = 1; slot < e.opLabels.length; slot++) {
    const op = e.opLabels[slot];
    if (op === PlannerOp.KEEP) labels.push(e.source[slot - 1]);
    else if (op === PlannerOp.REPLACE) labels.push(e.gold[fill++]);
    else labels.push(ignore);
    fill += e.insertLabels[slot];
  }
  if (fill !== e.gold.length) throw new RangeError(`sourceCorrectionLabels: the labels name ${fill} masks but the example has ${e.gold.length} gold fills`);
  return labels;
}

/**
 * The auxiliary BERT-CSC targets of a batch of infiller inputs `x` (`[CLS] P source [SEP] ...`):
 * flat positions b * L + i of every source token and their gold tokens (`sourceCorrectionLabels`).
 */
export function sourceCorrectionTargets(model: GapRelm, examples: readonly EncodedExample[], x: PaddedInputs, ignore: number): { positions: number[]; labels: number[] } {
  const start = firstTokenPosition(model.special);
  const positions: number[] = [];
  const labels: number[] = [];
  examples.forEach((e, b) => {
    const gold = sourceCorrectionLabels(e, ignore);
    gold.forEach((id, i) => {
      positions.push(b * x.length + start + i);
      labels.push(id);
    });
  });
  return { positions, labels };
}
