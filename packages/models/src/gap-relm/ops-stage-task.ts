import * as tf from '@tensorflow/tfjs-core';
import { PlannerOp } from '@proj/align';
import { Rng } from '@proj/core';
import type { StepContext } from '@proj/trainer';
import type { Ops } from '../ops/ops';
import { TfOps } from '../ops/tf-ops';
import { createOnnxLossSession } from '../train-engine/onnx-loss';
import { opsTrainTask, type HostBatch, type OpsInput, type OpsTrainTask } from '../train-engine/ops-task';
import type { GapRelm } from './gap-relm';
import { templateLayout } from './codec';
import type { InfillerInputs, PaddedInputs, TemplateLayout } from './inputs';
import { auxMlmInputs, encodeBatch, maskKeptTemplateTokens, scheduleBatch, sourceCorrectionTargets, stageEvaluator, stageTrainable, type DevLoss } from './stage-parts';
import { STAGES, type ScheduledSamplingStats, type StageName, type StageTaskOptions } from './tasks';
import type { EncodedExample } from './tokens';

const IGNORE = -100;

/** A Gap-ReLM stage as an engine-neutral task (`opsTrainTask`): what `train()` runs on tfjs or onnxruntime. */
export interface GapRelmOpsTask extends OpsTrainTask {
  readonly stage: StageName;
  /** Scheduled-sampling counts so far (joint_finetune only; zeros otherwise). */
  readonly stats: ScheduledSamplingStats;
}

/**
 * The loss inputs of a stage. Every data-dependent branch of the loss is an input here, so one
 * recorded graph serves every batch: targets the loss must not see are IGNORE, the infill and aux
 * terms carry their weight as a scalar input (0 when a batch has no such term), and every target
 * list holds at least one entry (an ignored one when there is nothing to learn) so no tensor is
 * empty. The auxiliary BERT-CSC term (`cscOn`) reads the infill term's logits: `infill_positions`
 * then lists the masks and then every source token, `infill_labels` ignores the source rows and
 * `csc_labels` the mask rows. With a shared encoder, planner_train's BERT-CSC term reads the
 * planner's pass instead (`planner_csc_*`: every source token's position, label and the weight).
 */
function stageInputs(usesPlanner: boolean, usesInfiller: boolean, auxOn: boolean, cscOn: boolean, plannerCscOn: boolean, layout: TemplateLayout): OpsInput[] {
  const ids = (prefix: string, withTypes: boolean, template: TemplateLayout = {}): OpsInput[] => [
    { name: `${prefix}_input_ids`, dtype: 'int32', shape: [`${prefix}_batch`, `${prefix}_seq`] },
    { name: `${prefix}_attention_mask`, dtype: 'int32', shape: [`${prefix}_batch`, `${prefix}_seq`] },
    ...(withTypes ? [{ name: `${prefix}_token_type_ids`, dtype: 'int32', shape: [`${prefix}_batch`, `${prefix}_seq`] } as OpsInput] : []),
    ...(template.alignedPositions ? [{ name: `${prefix}_position_ids`, dtype: 'int32', shape: [`${prefix}_batch`, `${prefix}_seq`] } as OpsInput] : []),
    ...(template.slotHints
      ? [{ name: `${prefix}_hint_ids`, dtype: 'int32', shape: [`${prefix}_batch`, `${prefix}_seq`] } as OpsInput, { name: `${prefix}_hint_mask`, dtype: 'float32', shape: [`${prefix}_batch`, `${prefix}_seq`, 1] } as OpsInput]
      : []),
  ];
  const targets = (prefix: string): OpsInput[] => [
    { name: `${prefix}_positions`, dtype: 'int32', shape: [`${prefix}_n`] },
    { name: `${prefix}_labels`, dtype: 'int32', shape: [`${prefix}_n`] },
    { name: `${prefix}_weight`, dtype: 'float32', shape: [] },
  ];
  return [
    ...(usesPlanner
      ? [...ids('planner', false), { name: 'op_targets', dtype: 'int32', shape: ['slots'] } as OpsInput, { name: 'insert_targets', dtype: 'int32', shape: ['slots'] } as OpsInput]
      : []),
    ...(plannerCscOn ? targets('planner_csc') : []),
    ...(usesInfiller ? [...ids('infill', true, layout), ...targets('infill')] : []),
    ...(auxOn ? [...ids('aux', true), ...targets('aux')] : []),
    ...(cscOn
      ? [{ name: 'csc_labels', dtype: 'int32', shape: ['infill_n'] } as OpsInput, { name: 'csc_weight', dtype: 'float32', shape: [] } as OpsInput]
      : []),
  ];
}

/** At least one target: an ignored one at position 0 when there is none. */
function nonEmpty(positions: number[], labels: number[]): { positions: Int32Array; labels: Int32Array } {
  return positions.length > 0 ? { positions: Int32Array.from(positions), labels: Int32Array.from(labels) } : { positions: Int32Array.of(0), labels: Int32Array.of(IGNORE) };
}

const int2 = (data: Int32Array, x: PaddedInputs) => ({ data, shape: [x.batch, x.length] });

/** The `<prefix>_*` inputs of one infiller term: padded ids, targets (never empty) and the term's weight. */
function infillerFeeds(prefix: string, x: InfillerInputs, labels: number[], weight: number, positions: number[] = Array.from(x.positions)): HostBatch {
  const t = nonEmpty(positions, labels);
  return {
    [`${prefix}_input_ids`]: int2(x.inputIds, x),
    [`${prefix}_attention_mask`]: int2(x.attentionMask, x),
    [`${prefix}_token_type_ids`]: int2(x.tokenTypeIds, x),
    ...(x.positionIds ? { [`${prefix}_position_ids`]: int2(x.positionIds, x) } : {}),
    ...(x.hintIds && x.hintMask ? { [`${prefix}_hint_ids`]: int2(x.hintIds, x), [`${prefix}_hint_mask`]: { data: x.hintMask, shape: [x.batch, x.length, 1] } } : {}),
    [`${prefix}_positions`]: { data: t.positions, shape: [t.positions.length] },
    [`${prefix}_labels`]: { data: t.labels, shape: [t.labels.length] },
    [`${prefix}_weight`]: { data: Float32Array.of(weight), shape: [] },
  };
}

/**
 * One Gap-ReLM stage as a @proj/trainer task over the model's Variables, its loss written once
 * against Ops so it trains on either engine (`train(config, task, { engine })`):
 * - infiller_pretrain: the infiller on gold templates (+ μ · auxiliary MLM, + the auxiliary
 *   BERT-CSC term on the same forward pass's source segment); trains `infiller.*`
 *   and the infiller's prompts (shared prompts included).
 * - planner_train: op + insert cross-entropy; trains `planner.*` and the planner's prompts; the
 *   infiller is frozen through `trainable`, unless the encoder is shared (`share_encoder`): then
 *   it trains that encoder too and, with aux_csc_weight, the MLM head by BERT-CSC on the same pass.
 * - joint_finetune: planner + λ · infill + μ · aux (+ BERT-CSC), everything trainable, with scheduled sampling:
 *   with probability p(step) (linear from ss_start to ss_end over the stage) a batch's templates
 *   are the current planner's argmax decode (computed in `batch()`, outside the gradient tape).
 *   The gold fills only fit a template equal to the gold one, so the infill targets of the other
 *   examples are ignored (the term's weight is 0 when none match).
 * Everything that varies per batch is decided in `batch()` (scheduled sampling, then the
 * auxiliary MLM's masking from the step's rng) and fed as inputs, so one graph serves every
 * batch. A batch with no target at all (infiller_pretrain on examples without [MASK], aux off) is
 * a zero-loss step whose gradients are zeros.
 */
export function createOpsStageTask(stage: StageName, model: GapRelm, options: StageTaskOptions): GapRelmOpsTask {
  if (!STAGES.includes(stage)) throw new RangeError(`createOpsStageTask: stage must be one of ${STAGES.join(', ')}, got ${JSON.stringify(stage)}`);
  const { train, dev } = options;
  const cfg = model.config;
  const stats: ScheduledSamplingStats = { batches: 0, scheduledBatches: 0, examplesKept: 0, examplesSkipped: 0 };
  const usesPlanner = stage !== 'infiller_pretrain';
  const usesInfiller = stage !== 'planner_train';
  const auxOn = usesInfiller && cfg.aux_mlm_weight > 0;
  const cscOn = usesInfiller && cfg.aux_csc_weight > 0;
  // planner_train on a shared encoder keeps the infiller's MLM head trained on it (BERT-CSC on the planner's pass).
  const plannerCscOn = stage === 'planner_train' && cfg.share_encoder && cfg.aux_csc_weight > 0;
  const prompts = model.special.prompts;
  const infillWeight = stage === 'joint_finetune' ? cfg.infill_weight : 1;

  // ---- host arrays of one batch: every branch decided here ----
  // `goldExamples`: the examples before template masking (their gold fills name the replacements).
  const hostBatch = (examples: EncodedExample[], infill: readonly boolean[], auxRng: Rng, goldExamples = examples): { batch: HostBatch; tokens: number } => {
    const batch: HostBatch = {};
    let tokens = 0;
    const count = (x: PaddedInputs) => x.attentionMask.reduce((s, v) => s + v, 0);
    if (usesPlanner) {
      const x = model.plannerInputs(examples.map((e) => e.source));
      const slots = x.length - prompts;
      const opTargets = new Int32Array(examples.length * slots).fill(IGNORE);
      const insTargets = new Int32Array(examples.length * slots).fill(IGNORE);
      examples.forEach((e, b) => {
        for (let s = 0; s < e.opLabels.length; s++) {
          // Slot 0 is always KEEP (nothing to learn); DELETE is not trained in the no_delete ablation.
          if (s > 0 && !(cfg.no_delete && e.opLabels[s] === PlannerOp.DELETE)) opTargets[b * slots + s] = e.opLabels[s];
          insTargets[b * slots + s] = cfg.no_insert ? IGNORE : e.insertLabels[s];
        }
      });
      Object.assign(batch, {
        planner_input_ids: int2(x.inputIds, x),
        planner_attention_mask: int2(x.attentionMask, x),
        op_targets: { data: opTargets, shape: [opTargets.length] },
        insert_targets: { data: insTargets, shape: [insTargets.length] },
      });
      if (plannerCscOn) {
        const csc = sourceCorrectionTargets(model, goldExamples, x, IGNORE);
        const t = nonEmpty(csc.positions, csc.labels);
        Object.assign(batch, {
          planner_csc_positions: { data: t.positions, shape: [t.positions.length] },
          planner_csc_labels: { data: t.labels, shape: [t.labels.length] },
          planner_csc_weight: { data: Float32Array.of(cfg.aux_csc_weight), shape: [] },
        });
      }
      tokens += count(x);
    }
    if (usesInfiller) {
      const x = model.infillerInputs(examples.map((e) => e.source), examples.map((e) => e.template), examples.map((e) => e.maskPositions));
      const labels = examples.flatMap((e, b) => e.gold.map((id) => (infill[b] ? id : IGNORE)));
      const weight = labels.some((l) => l !== IGNORE) ? infillWeight : 0;
      if (cscOn) {
        // The source segment does not depend on the template, so its targets hold under scheduled sampling too.
        const csc = sourceCorrectionTargets(model, goldExamples, x, IGNORE);
        const ignored = (n: number) => new Array<number>(n).fill(IGNORE);
        Object.assign(batch, infillerFeeds('infill', x, [...labels, ...ignored(csc.labels.length)], weight, [...x.positions, ...csc.positions]));
        const cscLabels = Int32Array.from([...ignored(labels.length), ...csc.labels]);
        batch.csc_labels = { data: cscLabels, shape: [cscLabels.length] };
        batch.csc_weight = { data: Float32Array.of(cfg.aux_csc_weight), shape: [] };
      } else Object.assign(batch, infillerFeeds('infill', x, labels, weight));
      tokens += count(x);
    }
    if (auxOn) {
      const { x, labels } = auxMlmInputs(model, examples, auxRng);
      Object.assign(batch, infillerFeeds('aux', x, Array.from(labels), labels.length > 0 ? cfg.aux_mlm_weight : 0));
    }
    return { batch, tokens };
  };

  // ---- the loss, once, on any Ops: planner + w_infill · infill + w_aux · aux ----
  const loss = <T>(ops: Ops<T>, x: Record<string, T>, training?: { rng: Rng }): T => {
    const terms: T[] = [];
    if (usesPlanner) {
      const out = model.planner(ops, { inputIds: x.planner_input_ids, attentionMask: x.planner_attention_mask }, training);
      terms.push(ops.crossEntropy(ops.reshape(out.opLogits, [-1, 3]), x.op_targets, IGNORE));
      if (!cfg.no_insert) terms.push(ops.crossEntropy(ops.reshape(out.insertLogits, [-1, cfg.max_insert_k + 1]), x.insert_targets, IGNORE));
      if (plannerCscOn) terms.push(ops.mul(ops.crossEntropy(model.plannerMlm(ops, out.hidden, x.planner_csc_positions), x.planner_csc_labels, IGNORE), x.planner_csc_weight));
    }
    for (const [term, on] of [['infill', usesInfiller], ['aux', auxOn]] as const) {
      if (!on) continue;
      // Only the infill term's template has a source to align to; the aux MLM reads a source alone.
      const [positionIds, hintIds, hintMask] = [x[`${term}_position_ids`], x[`${term}_hint_ids`], x[`${term}_hint_mask`]];
      const inputs = {
        inputIds: x[`${term}_input_ids`],
        attentionMask: x[`${term}_attention_mask`],
        tokenTypeIds: x[`${term}_token_type_ids`],
        ...(positionIds !== undefined ? { positionIds } : {}),
        ...(hintIds !== undefined ? { hintIds, hintMask } : {}),
      };
      const logits = model.infiller(ops, inputs, x[`${term}_positions`], training);
      terms.push(ops.mul(ops.crossEntropy(logits, x[`${term}_labels`], IGNORE), x[`${term}_weight`]));
      if (term === 'infill' && cscOn) terms.push(ops.mul(ops.crossEntropy(logits, x.csc_labels, IGNORE), x.csc_weight));
    }
    return terms.reduce((a, b) => ops.add(a, b));
  };

  const tokensOf = new WeakMap<HostBatch, number>();
  const batch = async (indices: readonly number[], ctx: StepContext): Promise<HostBatch> => {
    const examples = await encodeBatch(model, stage, train, indices, ctx);
    const infill = await scheduleBatch(stage, model, examples, ctx, options.totalSteps, stats);
    const templated = usesInfiller ? maskKeptTemplateTokens(examples, cfg.template_mask_rate, model.tokenizer.maskId, ctx.rng) : examples;
    const { batch: host, tokens } = hostBatch(templated, infill, ctx.rng, examples);
    tokensOf.set(host, tokens);
    return host;
  };

  // ---- evaluation: dev loss without dropout (a fixed aux masking stream, so evaluations compare),
  // on TfOps or, with evalEngine 'onnx', on an onnxruntime session of the loss on the current weights ----
  // With an auxiliary term on (MLM or BERT-CSC), each dev batch is also scored with the aux
  // weights at 0: the loss comparable with runs without them.
  const devHosts = (examples: EncodedExample[]): HostBatch[] => {
    const host = hostBatch(examples, examples.map(() => true), new Rng(0)).batch;
    if (!auxOn && !cscOn && !plannerCscOn) return [host];
    const zero = { data: Float32Array.of(0), shape: [] };
    return [host, { ...host, ...(auxOn ? { aux_weight: zero } : {}), ...(cscOn ? { csc_weight: zero } : {}), ...(plannerCscOn ? { planner_csc_weight: zero } : {}) }];
  };
  const devLosses = async (batches: EncodedExample[][]): Promise<DevLoss[]> => {
    let lossOf: (host: HostBatch) => Promise<number>;
    let release = async () => {};
    if (options.evalEngine === 'onnx') {
      const session = await createOnnxLossSession({ name: `gap-relm/${stage}`, store: model.store, inputs, loss }, options.evalSessions);
      lossOf = (host) => session.loss(host);
      release = () => session.release();
    } else {
      const tfOps = new TfOps(model.store);
      lossOf = async (host) => {
        const value = tf.tidy(() => {
          const x: Record<string, tf.Tensor> = {};
          for (const input of inputs) x[input.name] = tf.tensor(host[input.name].data, host[input.name].shape, input.dtype);
          return loss(tfOps, x) as tf.Scalar;
        });
        const v = (await value.data())[0];
        value.dispose();
        return v;
      };
    }
    try {
      const out: DevLoss[] = [];
      for (const examples of batches) {
        const [withAux, withoutAux] = devHosts(examples);
        out.push({ loss: await lossOf(withAux), ...(withoutAux ? { withoutAux: await lossOf(withoutAux) } : {}) });
      }
      return out;
    } finally {
      await release();
    }
  };
  const evaluate = dev ? stageEvaluator(stage, model, dev, options, stats, devLosses) : undefined;

  const inputs = stageInputs(usesPlanner, usesInfiller, auxOn, cscOn, plannerCscOn, templateLayout(cfg));
  const task = opsTrainTask({
    name: `gap-relm/${stage}`,
    describe: () => `${model.describe()}; data ${train.describe()}`,
    store: model.store,
    trainable: stageTrainable(stage, model),
    newParameters: model.newParameters ? () => model.newParameters! : undefined,
    numExamples: () => train.length,
    exampleLength: (index) => train.exampleLength(index),
    inputs,
    batch,
    loss,
    tokens: (b) => tokensOf.get(b) ?? 0,
    // Scheduled sampling runs the planner on the task's Variables inside batch().
    readsWeightsInBatch: stage === 'joint_finetune' && Math.max(cfg.ss_start, cfg.ss_end) > 0,
    ...(evaluate ? { evaluate } : {}),
    saveWeights: (dir) => model.save(dir),
    loadWeights: (dir) => model.loadWeights(dir),
  });
  return Object.assign(task, { stage, stats });
}
