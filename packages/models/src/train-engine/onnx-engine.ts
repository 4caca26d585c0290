import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import type { EmaState, EngineFactory, HostTensor, OptimizerState, TrainEngine } from '@proj/trainer';
import * as ort from 'onnxruntime-node';
import { dropoutMaskFeeds } from '../autodiff/dropout-masks';
import { buildGradientStep, buildOptimizerStep, TRAINING_STEP_NAMES as N } from '../autodiff/training-step';
import { graphToOnnx } from '../onnx/serialize';
import { createOnnxSession } from '../onnx-runtime/session';
import { GraphOps, type Graph, type GraphValue } from '../ops/graph-ops';
import type { ParameterStore } from '../ops/parameter-store';
import { checkHostBatch, type HostBatch, type OpsInput, type OpsTrainTask } from './ops-task';

export interface OnnxEngineOptions {
  /** Providers to try in order (default ['cuda', 'cpu']); each failure is logged in one line. */
  executionProviders?: readonly string[];
  /** onnxruntime threads per op (default: the core count). */
  intraOpNumThreads?: number;
  /** Provider fallbacks and the session line. */
  log?: (line: string) => void;
}

/** The Ops-level definition of a task built by `opsTrainTask`, or an error naming the task. */
function opsOf(task: object & { name: string }): OpsTrainTask['ops'] {
  const ops = (task as Partial<OpsTrainTask>).ops;
  if (ops === undefined) throw new TypeError(`createOnnxEngine: task "${task.name}" has no Ops-level loss; build it with opsTrainTask()`);
  return ops;
}

const float32 = (data: Float32Array, dims: readonly number[]) => new ort.Tensor('float32', data, dims);
// int32 graph inputs are int64 at the ONNX boundary (graphToOnnx casts them back inside).
const int64 = (data: Int32Array, dims: readonly number[]) => new ort.Tensor('int64', BigInt64Array.from(data, (v) => BigInt(v)), dims);

/**
 * The onnxruntime feeds of one micro-batch: the task's inputs (int32 as int64) and the dropout
 * masks of `forward`, drawn from `rng` after batch() — the position in the step's stream where
 * TfOps's dropout draws, so both engines drop the same units.
 */
export function batchFeeds(inputs: readonly OpsInput[], batch: HostBatch, forward: Graph, rng: Rng): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const dims: Record<string, number[]> = {};
  for (const input of inputs) {
    const a = batch[input.name];
    dims[input.name] = a.shape;
    feeds[input.name] = input.dtype === 'int32' ? int64(a.data as Int32Array, a.shape) : float32(a.data as Float32Array, a.shape);
  }
  for (const [name, mask] of dropoutMaskFeeds(forward, dims, rng)) feeds[name] = float32(mask.data, mask.dims);
  return feeds;
}

/**
 * EMA of host weights with `Ema`'s arithmetic (decay, warm-up, float32 rounding of each product
 * and sum, as tfjs computes it), so both engines keep the same averages in the same format.
 */
class HostEma {
  readonly shadow = new Map<string, Float32Array>();
  private updates = 0;

  constructor(
    weights: ReadonlyMap<string, Float32Array>,
    private readonly shapes: ReadonlyMap<string, number[]>,
    readonly decay: number,
    readonly warmup: boolean,
  ) {
    for (const [name, w] of weights) this.shadow.set(name, w.slice());
  }

  update(weights: ReadonlyMap<string, Float32Array>): void {
    const d = this.warmup ? Math.min(this.decay, (1 + this.updates) / (10 + this.updates)) : this.decay;
    const [fd, f1] = [Math.fround(d), Math.fround(1 - d)];
    for (const [name, s] of this.shadow) {
      const p = weights.get(name)!;
      for (let i = 0; i < s.length; i++) s[i] = Math.fround(s[i] * fd) + Math.fround(p[i] * f1);
    }
    this.updates += 1;
  }

  exportState(): EmaState {
    const shadow = new Map<string, HostTensor>();
    for (const [name, s] of this.shadow) shadow.set(name, { shape: [...this.shapes.get(name)!], data: s.slice() });
    return { updates: this.updates, shadow };
  }

  importState(state: EmaState): void {
    for (const name of this.shadow.keys()) {
      const host = state.shadow.get(name);
      if (!host) throw new RangeError(`createOnnxEngine: EMA state has no average for parameter "${name}"`);
      if (host.shape.join() !== this.shapes.get(name)!.join()) throw new RangeError(`createOnnxEngine: EMA average "${name}" has shape [${host.shape}] but the parameter has [${this.shapes.get(name)}]`);
      this.shadow.set(name, Float32Array.from(host.data));
    }
    this.updates = state.updates;
  }
}

/** Writes host values into the store's Variables. */
function assignAll(store: ParameterStore, values: ReadonlyMap<string, Float32Array>): void {
  tf.tidy(() => {
    for (const [name, data] of values) store.get(name).assign(tf.tensor(data, store.shape(name), 'float32'));
  });
}

/**
 * The onnxruntime engine for `train()` (`train(config, task, { engine: createOnnxEngine() })`),
 * for tasks built by `opsTrainTask`. The task's loss is recorded once with GraphOps (dropout as
 * mask inputs); `buildGradientStep` makes the micro-batch graph (loss / k and its gradients added
 * to the sums) and `buildOptimizerStep` the clipping + AdamW graph, each one onnxruntime session.
 * Weights, gradient sums and AdamW moments are host Float32Arrays fed to the sessions; dropout
 * masks are drawn from the micro-batch's `ctx.rng` after `batch()`, exactly as TfOps draws them.
 * Frozen parameters stay initializers of the gradient graph. Evaluation and `saveWeights` run on
 * the task's Variables, which the engine fills when the trainer asks, and checkpoints hold the
 * same optimizer and EMA tensors as the tfjs engine's: a run resumes on either engine.
 */
export function createOnnxEngine(options: OnnxEngineOptions = {}): EngineFactory<HostBatch> {
  return async ({ config, task, trainable }): Promise<TrainEngine> => {
    const ops = opsOf(task);
    const { store } = ops;
    const names = [...trainable.keys()];
    const shapes = new Map(names.map((n) => [n, store.shape(n)]));
    const kind = config.optimizer;
    const [beta1, beta2] = [config.adam_beta1, config.adam_beta2];

    // 1. The graphs: the loss recorded once, then the micro-batch and optimizer steps.
    const g = new GraphOps(store, { dropout: 'inputs' });
    const inputs: Record<string, GraphValue> = {};
    for (const input of ops.inputs) inputs[input.name] = g.input(input.name, input.dtype, input.shape);
    g.output(ops.loss(g, inputs, { rng: new Rng(0) }), 'loss'); // the rng is unused: masks are inputs
    const forward: Graph = g.toGraph();
    const gradGraph = buildGradientStep(forward, { loss: 'loss', trainable: names });
    const optGraph = buildOptimizerStep(
      names.map((name) => ({ name, shape: shapes.get(name)! })),
      { maxGradNorm: config.max_grad_norm, beta1, beta2, eps: config.adam_eps, weightDecay: kind === 'adamw' ? config.weight_decay : 0 },
    );
    const frozenInGraph = gradGraph.initializers.filter((i) => i.kind === 'parameter').map((i) => i.name);
    const sessionOptions = { executionProviders: options.executionProviders, intraOpNumThreads: options.intraOpNumThreads, log: options.log };
    const gradSessionOf = async () => {
      // Frozen parameters are baked in with their current values (rebuilt after a checkpoint load).
      const frozen = new Map(await Promise.all(frozenInGraph.map(async (n) => [n, await store.toFloat32(n)] as const)));
      return createOnnxSession(graphToOnnx(gradGraph, { parameters: (n) => frozen.get(n)!, graphName: 'gradient_step' }), sessionOptions);
    };
    let gradSession = await gradSessionOf();
    const optSession = await createOnnxSession(
      graphToOnnx(optGraph, { parameters: (n) => { throw new Error(`createOnnxEngine: optimizer graph has parameter initializer '${n}'`); }, graphName: 'optimizer_step' }),
      sessionOptions,
    );

    // 2. Host state: weights, moments (created at the first step, as torch and createAdamW do), sums.
    let weights = new Map(await Promise.all(names.map(async (n) => [n, await store.toFloat32(n)] as const)));
    let m = new Map<string, Float32Array>();
    let v = new Map<string, Float32Array>();
    let step = 0;
    let sums: Map<string, Float32Array> | null = null;
    // The Variables lag the host weights after an optimizer step until the next sync.
    let weightsMoved = false;
    const zeros = (n: string) => new Float32Array(weights.get(n)!.length);
    const ema = config.ema_decay > 0 ? new HostEma(weights, shapes, config.ema_decay, config.ema_warmup) : null;

    return {
      name: `onnxruntime (${gradSession.provider}, ${gradSession.intraOpNumThreads} threads)`,

      async microStep(indices, ctx, groupSize) {
        if (ops.readsWeightsInBatch && weightsMoved) {
          assignAll(store, weights);
          weightsMoved = false;
        }
        const batch = await task.batch(indices, ctx);
        checkHostBatch(ops.inputs, batch, `task "${task.name}".batch`);
        const tokens = task.tokens?.(batch) ?? indices.length;
        const feeds = batchFeeds(ops.inputs, batch, forward, ctx.rng);
        for (const n of names) {
          feeds[n] = float32(weights.get(n)!, shapes.get(n)!);
          feeds[N.gradSum(n)] = float32(sums?.get(n) ?? zeros(n), shapes.get(n)!);
        }
        feeds[N.microBatches] = float32(Float32Array.of(groupSize), []);
        const out = await gradSession.session.run(feeds);
        sums = new Map(names.map((n) => [n, out[N.updatedGradSum(n)].data as Float32Array]));
        return { loss: (out.loss.data as Float32Array)[0], tokens };
      },

      async optimizerStep(lr) {
        if (sums === null) throw new Error('createOnnxEngine: optimizerStep before any microStep');
        if (!(lr >= 0)) throw new RangeError(`${kind}.apply: lr must be >= 0, got ${lr}`);
        step += 1;
        const feeds: Record<string, ort.Tensor> = {
          [N.lr]: float32(Float32Array.of(lr), []),
          [N.biasCorrection1]: float32(Float32Array.of(1 - beta1 ** step), []),
          [N.biasCorrection2Sqrt]: float32(Float32Array.of(Math.sqrt(1 - beta2 ** step)), []),
        };
        for (const n of names) {
          const shape = shapes.get(n)!;
          feeds[n] = float32(weights.get(n)!, shape);
          feeds[N.grad(n)] = float32(sums.get(n)!, shape);
          feeds[N.m(n)] = float32(m.get(n) ?? zeros(n), shape);
          feeds[N.v(n)] = float32(v.get(n) ?? zeros(n), shape);
        }
        const out = await optSession.session.run(feeds);
        weights = new Map(names.map((n) => [n, out[N.updated(n)].data as Float32Array]));
        m = new Map(names.map((n) => [n, out[N.updatedM(n)].data as Float32Array]));
        v = new Map(names.map((n) => [n, out[N.updatedV(n)].data as Float32Array]));
        sums = null;
        weightsMoved = true;
        ema?.update(weights);
        return (out[N.gradNorm].data as Float32Array)[0];
      },

      async withEvalWeights(fn) {
        assignAll(store, ema ? ema.shadow : weights);
        try {
          return await fn();
        } finally {
          if (ema) assignAll(store, weights);
          weightsMoved = false;
        }
      },

      async syncToTask() {
        assignAll(store, weights);
        weightsMoved = false;
      },

      async syncFromTask() {
        weights = new Map(await Promise.all(names.map(async (n) => [n, await store.toFloat32(n)] as const)));
        if (frozenInGraph.length > 0) {
          await gradSession.session.release();
          gradSession = await gradSessionOf();
        }
      },

      optimizer: {
        exportState(): OptimizerState {
          const slots = new Map<string, HostTensor>();
          for (const [n, mv] of m) {
            slots.set(`m.${n}`, { shape: [...shapes.get(n)!], data: mv.slice() });
            slots.set(`v.${n}`, { shape: [...shapes.get(n)!], data: v.get(n)!.slice() });
          }
          return { kind, step, slots };
        },
        importState(state: OptimizerState) {
          if (state.kind !== kind) throw new TypeError(`${kind}.importState: state is from optimizer "${state.kind}"`);
          const [nextM, nextV] = [new Map<string, Float32Array>(), new Map<string, Float32Array>()];
          for (const [slot, host] of state.slots) {
            const match = /^([mv])\.(.+)$/.exec(slot);
            if (!match) throw new RangeError(`${kind}.importState: unexpected slot "${slot}"`);
            const shape = shapes.get(match[2]);
            if (shape === undefined) throw new RangeError(`${kind}.importState: unknown parameter "${match[2]}"`);
            if (host.shape.join() !== shape.join()) throw new RangeError(`${kind}.importState: slot "${slot}" has shape [${host.shape}] but the parameter has [${shape}]`);
            (match[1] === 'm' ? nextM : nextV).set(match[2], Float32Array.from(host.data));
          }
          [m, v, step] = [nextM, nextV, state.step];
        },
      },
      ema,

      async dispose() {
        await gradSession.session.release();
        await optSession.session.release();
      },
    };
  };
}
