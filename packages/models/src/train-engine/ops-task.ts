import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@proj/core';
import type { EvalContext, StepContext, TrainTask } from '@proj/trainer';
import type { Dim, Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { TfOps } from '../ops/tf-ops';

/** One input of a micro-batch as plain host data (row-major), the same for every engine. */
export interface HostArray {
  data: Int32Array | Float32Array;
  shape: number[];
}

/** A micro-batch: host arrays by input name. */
export type HostBatch = Record<string, HostArray>;

/** A declared loss input: dtype and shape, symbolic where it varies per batch ('batch', 'seq', 'n'). */
export interface OpsInput {
  name: string;
  dtype: 'int32' | 'float32';
  shape: Dim[];
}

/**
 * Extra scalars of a training step (`TrainTask.trainMetrics`), written against `Ops` with the loss
 * so both engines compute them from the same code and the same forward pass: on TfOps under the
 * tfjs engine, as more outputs of the recorded step graphs on onnxruntime.
 */
export interface OpsTrainMetrics {
  /** Their names, in log order. */
  names: readonly string[];
  /** The loss `OpsTaskSpec.loss` gives and each named float32 scalar, from one forward pass. */
  lossAndMetrics<T>(ops: Ops<T>, inputs: Record<string, T>, training?: { rng: Rng }): { loss: T; metrics: Record<string, T> };
}

/**
 * A training task whose loss is written once against `Ops`, so any engine can run it: the tfjs
 * engine on TfOps, the onnxruntime engine on a graph recorded once with GraphOps. `batch()`
 * returns host arrays only; everything that differs between batches is an input (masks, term
 * weights), so one recorded graph serves every batch.
 */
export interface OpsTaskSpec {
  name: string;
  describe(): string;
  /** The model's parameters; the trainer sees them as `params()`. */
  store: ParameterStore;
  trainable?(name: string): boolean;
  /** Parameters initialized here, not loaded from a pretrained checkpoint (`TrainTask.newParameters`). */
  newParameters?(): ReadonlySet<string>;
  numExamples(): number;
  /** `TrainTask.exampleLength` (for group_by_length); omit when lengths are not known. */
  exampleLength?(index: number): number;
  inputs: readonly OpsInput[];
  /** Host arrays for these examples; may draw from `ctx.rng` (masking), before the loss's dropout does. */
  batch(indices: readonly number[], ctx: StepContext): HostBatch | Promise<HostBatch>;
  /**
   * Mean loss of the micro-batch; `training.rng` drives dropout (TfOps draws, GraphOps records mask
   * inputs); without `training` (evaluation) no dropout.
   */
  loss<T>(ops: Ops<T>, inputs: Record<string, T>, training?: { rng: Rng }): T;
  /** Scalars a training step logs beside the loss (a MoE model's aux_loss, …); omit for none. */
  trainMetrics?: OpsTrainMetrics;
  tokens?(batch: HostBatch): number;
  /**
   * `batch()` reads the model's weights (scheduled sampling runs the model): an engine that keeps
   * weights elsewhere sets `ctx.weightsReady`, which `batch()` awaits before it reads them (the
   * engine puts them into the Variables then). Default false.
   */
  readsWeightsInBatch?: boolean;
  evaluate?(ctx: EvalContext): Promise<Record<string, number>> | Record<string, number>;
  saveWeights(dir: string): Promise<void>;
  loadWeights(dir: string): Promise<void>;
}

/** A `TrainTask` (its `loss` runs on TfOps) that also carries the Ops-level definition for other engines. */
export interface OpsTrainTask extends TrainTask<HostBatch> {
  readonly ops: Pick<OpsTaskSpec, 'store' | 'inputs' | 'loss' | 'trainMetrics' | 'readsWeightsInBatch'>;
}

/** Checks a batch against the declared inputs: every name present, dtype, rank, static dims, data length. */
export function checkHostBatch(inputs: readonly OpsInput[], batch: HostBatch, where: string): void {
  for (const input of inputs) {
    const a = batch[input.name];
    if (a === undefined) throw new RangeError(`${where}: batch has no input '${input.name}' (has ${Object.keys(batch).join(', ')})`);
    const isInt = a.data instanceof Int32Array;
    if (isInt !== (input.dtype === 'int32')) throw new TypeError(`${where}: input '${input.name}' must be ${input.dtype}, got ${a.data.constructor.name}`);
    if (a.shape.length !== input.shape.length) throw new RangeError(`${where}: input '${input.name}' has shape [${a.shape}], declared [${input.shape}]`);
    input.shape.forEach((d, i) => {
      if (typeof d === 'number' && a.shape[i] !== d) throw new RangeError(`${where}: input '${input.name}' has shape [${a.shape}], declared [${input.shape}]`);
    });
    const size = a.shape.reduce((x, y) => x * y, 1);
    if (a.data.length !== size) throw new RangeError(`${where}: input '${input.name}' has ${a.data.length} values for shape [${a.shape}]`);
  }
}

/**
 * What an Ops-level task takes over unchanged from the tfjs `TrainTask` of the same model (name,
 * description, size, evaluation, weights I/O), for wrappers that only add inputs, batches and the
 * Ops loss (`createCausalLmOpsTask`, `createSgddOpsTask`).
 */
export function delegatedTaskFields(base: TrainTask<unknown>): Pick<OpsTaskSpec, 'name' | 'describe' | 'numExamples' | 'exampleLength' | 'evaluate' | 'saveWeights' | 'loadWeights'> {
  return {
    name: base.name,
    describe: () => base.describe(),
    numExamples: () => base.numExamples(),
    exampleLength: base.exampleLength ? (index) => base.exampleLength!(index) : undefined,
    evaluate: base.evaluate ? (ctx) => base.evaluate!(ctx) : undefined,
    saveWeights: (dir) => base.saveWeights(dir),
    loadWeights: (dir) => base.loadWeights(dir),
  };
}

/**
 * The `TrainTask` of an Ops-level spec: `loss` (and `trainMetrics.lossAndMetrics`) turns the host
 * arrays into tensors and runs `spec.loss` (`spec.trainMetrics.lossAndMetrics`) on TfOps.
 */
export function opsTrainTask(spec: OpsTaskSpec): OpsTrainTask {
  const { store, inputs } = spec;
  const tensorsOf = (batch: HostBatch): Record<string, tf.Tensor> => {
    checkHostBatch(inputs, batch, `task "${spec.name}".loss`);
    return Object.fromEntries(inputs.map((input) => [input.name, tf.tensor(batch[input.name].data, batch[input.name].shape, input.dtype)]));
  };
  const metrics = spec.trainMetrics;
  return {
    name: spec.name,
    describe: () => spec.describe(),
    params: () => new Map(store.names().map((n) => [n, store.get(n)])),
    trainable: spec.trainable ? (name) => spec.trainable!(name) : undefined,
    newParameters: spec.newParameters ? () => spec.newParameters!() : undefined,
    numExamples: () => spec.numExamples(),
    exampleLength: spec.exampleLength ? (index) => spec.exampleLength!(index) : undefined,
    batch: (indices, ctx) => spec.batch(indices, ctx),
    loss: (batch, ctx) => spec.loss(new TfOps(store), tensorsOf(batch), { rng: ctx.rng }) as tf.Scalar,
    ...(metrics && {
      trainMetrics: {
        names: metrics.names,
        lossAndMetrics: (batch: HostBatch, ctx: StepContext) => metrics.lossAndMetrics(new TfOps(store), tensorsOf(batch), { rng: ctx.rng }) as { loss: tf.Scalar; metrics: Record<string, tf.Scalar> },
      },
    }),
    tokens: spec.tokens ? (batch) => spec.tokens!(batch) : undefined,
    evaluate: spec.evaluate ? (ctx) => spec.evaluate!(ctx) : undefined,
    saveWeights: (dir) => spec.saveWeights(dir),
    loadWeights: (dir) => spec.loadWeights(dir),
    ops: { store, inputs, loss: <T>(ops: Ops<T>, x: Record<string, T>, training?: { rng: Rng }) => spec.loss(ops, x, training), trainMetrics: metrics, readsWeightsInBatch: spec.readsWeightsInBatch ?? false },
  };
}
