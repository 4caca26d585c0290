import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import type { EmaState, EngineFactory, HostTensor, MicroStepResult, OptimizerState, StepContext, TrainEngine } from '@proj/trainer';
import * as ort from 'onnxruntime-node';
import { dropoutMaskFeeds } from '../autodiff/dropout-masks';
import { buildGradientStep, buildOptimizerStep, buildTrainingStep, chainTrainingSteps, TRAINING_STEP_NAMES as N } from '../autodiff/training-step';
import { graphToOnnx } from '../onnx/serialize';
import { createOnnxSession, type OnnxSession } from '../onnx-runtime/session';
import { GraphOps, type Graph, type GraphValue } from '../ops/graph-ops';
import type { ParameterStore } from '../ops/parameter-store';
import { checkHostBatch, type HostBatch, type OpsInput, type OpsTrainTask } from './ops-task';
import { SessionWorker, type WireTensor, type WorkerRunResult, type WorkerSession } from './session-worker';

export interface OnnxEngineOptions {
  /** Providers to try in order (default ['cuda', 'cpu']); each failure is logged in one line. */
  executionProviders?: readonly string[];
  /** onnxruntime threads per op (default: the core count). */
  intraOpNumThreads?: number;
  /** Provider fallbacks and the session line. */
  log?: (line: string) => void;
  /**
   * Build the micro-batch `train()` announces with `prefetch` while the current one runs (default
   * true). The results are the same bits either way: the batch draws from its own ctx.rng.
   */
  prefetch?: boolean;
}

/** The Ops-level definition of a task built by `opsTrainTask`, or an error naming the task. */
function opsOf(task: object & { name: string }): OpsTrainTask['ops'] {
  const ops = (task as Partial<OpsTrainTask>).ops;
  if (ops === undefined) throw new TypeError(`createOnnxEngine: task "${task.name}" has no Ops-level loss; build it with opsTrainTask()`);
  return ops;
}

const float32 = (data: Float32Array, dims: readonly number[]): WireTensor => ({ type: 'float32', data, dims });
const scalar = (value: number) => float32(Float32Array.of(value), []);

/**
 * The feeds of one micro-batch as arrays of their own (a transfer to the session worker leaves
 * the batch intact): the task's inputs (int32 as int64: graphToOnnx casts them back inside) and
 * the dropout masks of `forward`, drawn from `rng` after batch() — the position in the step's
 * stream where TfOps's dropout draws, so both engines drop the same units.
 */
function batchArrays(inputs: readonly OpsInput[], batch: HostBatch, forward: Graph, rng: Rng): Record<string, WireTensor> {
  const feeds: Record<string, WireTensor> = {};
  const dims: Record<string, number[]> = {};
  for (const input of inputs) {
    const a = batch[input.name];
    dims[input.name] = a.shape;
    feeds[input.name] = input.dtype === 'int32' ? { type: 'int64', data: BigInt64Array.from(a.data as Int32Array, (v) => BigInt(v)), dims: a.shape } : float32((a.data as Float32Array).slice(), a.shape);
  }
  for (const [name, mask] of dropoutMaskFeeds(forward, dims, rng)) feeds[name] = float32(mask.data, mask.dims);
  return feeds;
}

/** `batchArrays` as onnxruntime tensors, for a session on this thread. */
export function batchFeeds(inputs: readonly OpsInput[], batch: HostBatch, forward: Graph, rng: Rng): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(batchArrays(inputs, batch, forward, rng)).map(([name, t]) => [name, new ort.Tensor(t.type, t.data, t.dims)]));
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

/**
 * Writes copies of host values into the store's Variables (tfjs's cpu backend would keep the given
 * array itself, which the next run writes into or lends to the session worker).
 */
function assignAll(store: ParameterStore, values: ReadonlyMap<string, Float32Array>): void {
  tf.tidy(() => {
    for (const [name, data] of values) store.get(name).assign(tf.tensor(data.slice(), store.shape(name), 'float32'));
  });
}

/**
 * One host Float32Array per parameter, fed to a session or given to it as a pre-allocated output
 * (onnxruntime-node writes into it). A run in the session worker takes the arrays' buffers and
 * gives them back: `takeBack` re-attaches them.
 */
class HostArrays {
  readonly data = new Map<string, Float32Array>();

  constructor(private readonly shapes: ReadonlyMap<string, number[]>) {
    for (const [name, shape] of shapes) this.data.set(name, new Float32Array(shape.reduce((x, y) => x * y, 1)));
  }

  /** Adds each parameter's array to `into` under `as(parameter)`. */
  addTo(into: Record<string, WireTensor | null>, as: (p: string) => string): void {
    for (const [name, a] of this.data) into[as(name)] = float32(a, this.shapes.get(name)!);
  }

  /** The arrays a run returned under `as(parameter)` (the same memory) become this copy's arrays again. */
  takeBack(returned: WorkerRunResult['feeds'], as: (p: string) => string): void {
    for (const name of this.data.keys()) this.data.set(name, returned[as(name)] as Float32Array);
  }

  fill(values: ReadonlyMap<string, ArrayLike<number>> | number): void {
    for (const [name, a] of this.data) {
      if (typeof values === 'number') a.fill(values);
      else a.set(values.get(name)!);
    }
  }
}

/** Two copies of host state that swap roles after each run: the run reads `cur` and writes `next`. */
class PingPong {
  cur: HostArrays;
  next: HostArrays;

  constructor(shapes: ReadonlyMap<string, number[]>) {
    [this.cur, this.next] = [new HostArrays(shapes), new HostArrays(shapes)];
  }

  swap(): void {
    [this.cur, this.next] = [this.next, this.cur];
  }
}

/** A session made on first use (graph recorded and serialized then), remade after `reset`. */
function lazySession(make: () => Promise<OnnxSession<WorkerSession>>) {
  let session: Promise<OnnxSession<WorkerSession>> | null = null;
  return {
    get: () => (session ??= make()),
    async reset() {
      if (session !== null) await (await session).session.release();
      session = null;
    },
  };
}

const identity = (p: string) => p;

/**
 * The onnxruntime engine for `train()` (`train(config, task, { engine: createOnnxEngine() })`),
 * for tasks built by `opsTrainTask`. The task's loss is recorded once with GraphOps (dropout as
 * mask inputs), its `trainMetrics` as more outputs of the same graph (so of every step graph: no
 * second forward pass). A step of one micro-batch is one session run of `buildTrainingStep` (forward,
 * backward, clipping and AdamW), done in `microStep` at the step's lr; with accumulation each
 * micro-batch runs `buildGradientStep` (loss / k and its gradients added to the sums) and the
 * group ends with a run of `buildOptimizerStep`. With `steps_per_run` k > 1 (one micro-batch per
 * step, no EMA, a batch that reads no weights), `train()` hands a step the k − 1 following ones
 * and one run of `chainTrainingSteps` takes them all: weights and moments cross once per k steps
 * (the copy below is most of a step's time outside the kernels), with the same bits as k runs.
 * Weights, AdamW moments and gradient sums are
 * host Float32Arrays in two copies that swap after each run, fed as inputs and given as
 * pre-allocated outputs (onnxruntime-node 1.30 still returns a fresh copy of each, dropped). The
 * sessions live in a worker thread (`SessionWorker`; a run blocks the thread that calls it), so
 * while a step runs this thread builds the micro-batch `train()` announced with `prefetch`; a
 * batch that reads the weights waits in `ctx.weightsReady` for the step's update. Dropout masks
 * are drawn from the micro-batch's `ctx.rng` after `batch()`, exactly as TfOps draws them.
 * Frozen parameters stay initializers of the graphs. Evaluation and `saveWeights` run on the
 * task's Variables, which the engine fills when the trainer asks, and checkpoints hold the same
 * optimizer and EMA tensors as the tfjs engine's: a run resumes on either engine.
 */
export function createOnnxEngine(options: OnnxEngineOptions = {}): EngineFactory<HostBatch> {
  return async ({ config, task, trainable, lrScale }): Promise<TrainEngine> => {
    const ops = opsOf(task);
    const { store } = ops;
    const names = [...trainable.keys()];
    const shapes = new Map(names.map((n) => [n, store.shape(n)]));
    const kind = config.optimizer;
    const [beta1, beta2] = [config.adam_beta1, config.adam_beta2];
    const optimizerOptions = { maxGradNorm: config.max_grad_norm, beta1, beta2, eps: config.adam_eps, weightDecay: kind === 'adamw' ? config.weight_decay : 0, lrScale };

    // 1. The graphs: the loss recorded once; each step graph is built and loaded on first use.
    const g = new GraphOps(store, { dropout: 'inputs' });
    const inputs: Record<string, GraphValue> = {};
    for (const input of ops.inputs) inputs[input.name] = g.input(input.name, input.dtype, input.shape);
    const training = { rng: new Rng(0) }; // unused: masks are inputs
    const recorded = ops.trainMetrics ? ops.trainMetrics.lossAndMetrics(g, inputs, training) : { loss: ops.loss(g, inputs, training), metrics: {} };
    g.output(recorded.loss, 'loss');
    // The task's training metrics: more outputs of the same step graphs (no second forward pass).
    const metricOutputs = Object.entries(recorded.metrics).map(([name, v]) => {
      if (v.dtype !== 'float32' || v.shape.length !== 0) throw new TypeError(`createOnnxEngine: task "${task.name}" training metric "${name}" must be a float32 scalar, got ${v.dtype} [${v.shape}]`);
      return [name, g.output(v, `train_metric.${name}`).name] as const;
    });
    const metricFetches = Object.fromEntries(metricOutputs.map(([, output]) => [output, null]));
    const forward: Graph = g.toGraph();
    const sessionOptions = { executionProviders: options.executionProviders, intraOpNumThreads: options.intraOpNumThreads, log: options.log };
    // The sessions run in a worker, so this thread builds the next batch meanwhile.
    const worker = new SessionWorker();
    const sessionOf = (build: () => Graph, graphName: string) => async () => {
      const graph = build();
      // Frozen parameters are baked in with their current values (remade after a checkpoint load).
      const frozenNames = graph.initializers.filter((i) => i.kind === 'parameter').map((i) => i.name);
      const frozen = new Map(await Promise.all(frozenNames.map(async (n) => [n, await store.toFloat32(n)] as const)));
      return createOnnxSession(graphToOnnx(graph, { parameters: (n) => frozen.get(n)!, graphName }), sessionOptions, (bytes, o) => worker.create(bytes, o));
    };
    const stepGraph = () => buildTrainingStep(forward, { loss: 'loss', trainable: names, ...optimizerOptions });
    const trainingSession = lazySession(sessionOf(stepGraph, 'training_step'));
    // k steps in one run (chainTrainingSteps), one session per k used, made on first use.
    const chainSessions = new Map<number, ReturnType<typeof lazySession>>();
    const chainSession = (k: number) => {
      if (!chainSessions.has(k)) chainSessions.set(k, lazySession(sessionOf(() => chainTrainingSteps(stepGraph(), names, k), `training_steps_${k}`)));
      return chainSessions.get(k)!;
    };
    const gradSession = lazySession(sessionOf(() => buildGradientStep(forward, { loss: 'loss', trainable: names }), 'gradient_step'));
    const optSession = lazySession(sessionOf(() => buildOptimizerStep(names.map((name) => ({ name, shape: shapes.get(name)! })), optimizerOptions), 'optimizer_step'));
    const first = await (config.grad_accum_steps === 1 ? trainingSession : gradSession).get().catch(async (error: unknown) => {
      await worker.terminate(); // no engine to dispose it
      throw error;
    });

    // 2. Host state: weights and moments (zeros until the first step, as torch and createAdamW
    //    start them), gradient sums only when accumulating.
    const weights = new PingPong(shapes);
    weights.cur.fill(new Map(await Promise.all(names.map(async (n) => [n, await store.toFloat32(n)] as const))));
    const [m, v] = [new PingPong(shapes), new PingPong(shapes)];
    let hasMoments = false;
    let sums: PingPong | null = null;
    let microBatchesInSums = 0;
    let step = 0;
    // A one-micro-batch step already applied by microStep: its lr and gradient norm.
    let applied: { lr: number; norm: number } | null = null;
    // Steps a chained run took ahead of train()'s calls: what microStep and optimizerStep return for them.
    const taken: { ctx: StepContext; lr: number; result: MicroStepResult; norm: number }[] = [];
    // The Variables lag the host weights after an optimizer step until the next sync.
    let weightsMoved = false;
    const ema = config.ema_decay > 0 ? new HostEma(weights.cur.data, shapes, config.ema_decay, config.ema_warmup) : null;

    /** The optimizer's scalar feeds of the next step, and the step counted. */
    const nextStepFeeds = (lr: number): Record<string, WireTensor> => {
      if (!(lr >= 0)) throw new RangeError(`${kind}.apply: lr must be >= 0, got ${lr}`);
      step += 1;
      return { [N.lr]: scalar(lr), [N.biasCorrection1]: scalar(1 - beta1 ** step), [N.biasCorrection2Sqrt]: scalar(Math.sqrt(1 - beta2 ** step)) };
    };
    /** Puts the host weights into the Variables if they moved since (a task's batch() is about to read them). */
    const syncWeights = () => {
      if (!weightsMoved) return;
      assignAll(store, weights.cur.data);
      weightsMoved = false;
    };

    // 3. Prefetch: train() announces the next micro-batch; it is built on this thread while the
    //    worker runs the current one, from its own ctx.rng (the same draws as built later).
    type Prepared = { feeds: Record<string, WireTensor>; tokens: number };
    const prepare = async (indices: readonly number[], ctx: StepContext): Promise<Prepared> => {
      const batch = await task.batch(indices, ctx);
      checkHostBatch(ops.inputs, batch, `task "${task.name}".batch`);
      return { feeds: batchArrays(ops.inputs, batch, forward, ctx.rng), tokens: task.tokens?.(batch) ?? indices.length };
    };
    let announced: { indices: readonly number[]; ctx: StepContext } | null = null;
    let prefetched: { indices: readonly number[]; ctx: StepContext; ready: Promise<Prepared> } | null = null;
    const isPrefetched = (indices: readonly number[], ctx: StepContext) =>
      prefetched !== null &&
      prefetched.ctx.epoch === ctx.epoch &&
      prefetched.ctx.batchIndex === ctx.batchIndex &&
      prefetched.ctx.step === ctx.step &&
      prefetched.indices.length === indices.length &&
      prefetched.indices.every((x, i) => x === indices[i]);

    type Slot = readonly [HostArrays, (p: string) => string];
    /**
     * One run in the worker: `fed` host copies join the feeds, `written` ones are its pre-allocated
     * outputs. Meanwhile the announced micro-batch is built (unless `prefetchNext` is false); a
     * batch that reads the weights waits in ctx.weightsReady until the arrays are back and
     * `after` (swaps, flags) has run. Returns the outputs that were not pre-allocated, once the
     * prefetched batch is ready too, so no batch building outlives the engine call.
     */
    const run = async (session: WorkerSession, feeds: Record<string, WireTensor>, fetches: Record<string, WireTensor | null>, fed: Slot[], written: Slot[], after: () => void, prefetchNext = true) => {
      for (const [arrays, as] of fed) arrays.addTo(feeds, as);
      for (const [arrays, as] of written) arrays.addTo(fetches, as);
      const running = session.run(feeds, fetches);
      let settle!: { back: () => void; failed: (error: unknown) => void };
      const back = new Promise<void>((resolve, reject) => (settle = { back: resolve, failed: reject }));
      back.catch(() => {}); // a failed run is reported by `running`
      const next = announced;
      announced = null;
      if (next !== null && prefetchNext && options.prefetch !== false) {
        const ctx: StepContext = {
          ...next.ctx,
          weightsReady: async () => {
            await back;
            syncWeights();
          },
        };
        prefetched = { ...next, ready: prepare(next.indices, ctx) };
        prefetched.ready.catch(() => {}); // its error surfaces in the microStep that uses it
      }
      let out: WorkerRunResult;
      try {
        out = await running;
      } catch (error) {
        settle.failed(error);
        throw error;
      }
      for (const [arrays, as] of fed) arrays.takeBack(out.feeds, as);
      for (const [arrays, as] of written) arrays.takeBack(out.fetches, as);
      after();
      settle.back();
      await prefetched?.ready.catch(() => {});
      return out.outputs;
    };
    const value = (t: WireTensor) => (t.data as Float32Array)[0];
    const metricsOf = (out: Record<string, WireTensor>) => Object.fromEntries(metricOutputs.map(([name, output]) => [name, value(out[output])]));
    /** Feeds weights, m and v (and `fed`), pre-allocates their updated outputs, runs, and swaps the copies. */
    const runUpdate = (session: WorkerSession, feeds: Record<string, WireTensor>, fetches: Record<string, null>, fed: Slot[] = []) =>
      run(
        session,
        feeds,
        fetches,
        [[weights.cur, identity], [m.cur, N.m], [v.cur, N.v], ...fed],
        [[weights.next, N.updated], [m.next, N.updatedM], [v.next, N.updatedV]],
        () => {
          for (const state of [weights, m, v]) state.swap();
          [hasMoments, weightsMoved] = [true, true];
        },
      );

    return {
      name: `onnxruntime (${first.provider}, ${first.intraOpNumThreads} threads)`,

      prefetch(indices, ctx) {
        announced = { indices: [...indices], ctx };
      },

      maxStepsPerRun: config.grad_accum_steps === 1 && ema === null && !ops.readsWeightsInBatch ? Number.MAX_SAFE_INTEGER : 1,

      async microStep(indices, ctx, groupSize, lr, ahead = []) {
        if (taken.length > 0) {
          // A step the last chained run took: the one train() announced for this place.
          const next = taken.shift()!;
          if (next.ctx.epoch !== ctx.epoch || next.ctx.batchIndex !== ctx.batchIndex || next.ctx.step !== ctx.step || next.lr !== lr || groupSize !== 1 || ahead.length > 0) {
            throw new Error(`createOnnxEngine: microStep of step ${ctx.step} (epoch ${ctx.epoch}, batch ${ctx.batchIndex}, lr ${lr}), but the chained run took step ${next.ctx.step} (epoch ${next.ctx.epoch}, batch ${next.ctx.batchIndex}, lr ${next.lr}) here`);
          }
          applied = { lr, norm: next.norm };
          return next.result;
        }
        // Built while the previous run computed, or now (the weights synced only if batch() asks).
        const mine = isPrefetched(indices, ctx) ? prefetched!.ready : prepare(indices, { ...ctx, weightsReady: async () => syncWeights() });
        prefetched = null;
        const { feeds, tokens } = await mine;
        if (ahead.length > 0) {
          // Several steps in one run: each step's feeds under its own names, weights and moments
          // in once and out once. The batches ahead read no weights (maxStepsPerRun says so).
          if (groupSize !== 1 || microBatchesInSums > 0 || applied !== null) throw new Error('createOnnxEngine: steps ahead need one-micro-batch steps and no open step');
          const steps = [{ ctx, lr, prepared: { feeds, tokens } }];
          for (const later of ahead) steps.push({ ctx: later.ctx, lr: later.lr, prepared: await prepare(later.indices, { ...later.ctx, weightsReady: async () => syncWeights() }) });
          const chained: Record<string, WireTensor> = {};
          const fetches: Record<string, null> = {};
          for (const [j, step] of steps.entries()) {
            for (const [name, t] of Object.entries({ ...step.prepared.feeds, ...nextStepFeeds(step.lr) })) chained[N.ofStep(j, name)] = t;
            for (const name of ['loss', ...Object.keys(metricFetches), N.gradNorm]) fetches[N.ofStep(j, name)] = null;
          }
          const out = await runUpdate((await chainSession(steps.length).get()).session, chained, fetches);
          for (const [j, step] of steps.entries()) {
            const mine = (name: string) => value(out[N.ofStep(j, name)]);
            const metrics = Object.fromEntries(metricOutputs.map(([name, output]) => [name, mine(output)]));
            taken.push({ ctx: step.ctx, lr: step.lr, result: { loss: mine('loss'), tokens: step.prepared.tokens, metrics }, norm: mine(N.gradNorm) });
          }
          const first = taken.shift()!;
          applied = { lr, norm: first.norm };
          return first.result;
        }
        if (groupSize === 1) {
          // One run: forward, backward, clipping and AdamW at this step's lr.
          if (microBatchesInSums > 0 || applied !== null) throw new Error('createOnnxEngine: a one-micro-batch step while another step is open');
          const out = await runUpdate((await trainingSession.get()).session, Object.assign(feeds, nextStepFeeds(lr)), { loss: null, ...metricFetches, [N.gradNorm]: null });
          applied = { lr, norm: value(out[N.gradNorm]) };
          return { loss: value(out.loss), tokens, metrics: metricsOf(out) };
        }
        const group = (sums ??= new PingPong(shapes));
        if (microBatchesInSums === 0) group.cur.fill(0);
        feeds[N.microBatches] = scalar(groupSize);
        // The group's last micro-batch: the next one's weights come from optimizerStep, so a batch
        // that reads them is not built ahead.
        const groupEnds = microBatchesInSums + 1 === groupSize;
        const { session } = await gradSession.get();
        const out = await run(session, feeds, { loss: null, ...metricFetches }, [[weights.cur, identity], [group.cur, N.gradSum]], [[group.next, N.updatedGradSum]], () => group.swap(), !(groupEnds && ops.readsWeightsInBatch));
        microBatchesInSums += 1;
        return { loss: value(out.loss), tokens, metrics: metricsOf(out) };
      },

      async optimizerStep(lr) {
        let norm: number;
        if (applied !== null) {
          if (lr !== applied.lr) throw new RangeError(`createOnnxEngine: optimizerStep at lr ${lr}, but microStep applied the step at lr ${applied.lr}`);
          norm = applied.norm;
          applied = null;
        } else {
          if (sums === null || microBatchesInSums === 0) throw new Error('createOnnxEngine: optimizerStep before any microStep');
          const out = await runUpdate((await optSession.get()).session, nextStepFeeds(lr), { [N.gradNorm]: null }, [[sums.cur, N.grad]]);
          microBatchesInSums = 0;
          norm = value(out[N.gradNorm]);
        }
        ema?.update(weights.cur.data);
        return norm;
      },

      async withEvalWeights(fn) {
        assignAll(store, ema ? ema.shadow : weights.cur.data);
        try {
          return await fn();
        } finally {
          if (ema) assignAll(store, weights.cur.data);
          weightsMoved = false;
        }
      },

      async syncToTask() {
        assignAll(store, weights.cur.data);
        weightsMoved = false;
      },

      async syncFromTask() {
        weights.cur.fill(new Map(await Promise.all(names.map(async (n) => [n, await store.toFloat32(n)] as const))));
        weightsMoved = false;
        // Sessions with frozen parameters baked in are remade on their next use.
        if (names.length < store.names().length) await Promise.all([trainingSession.reset(), gradSession.reset(), ...[...chainSessions.values()].map((c) => c.reset())]);
      },

      optimizer: {
        exportState(): OptimizerState {
          const slots = new Map<string, HostTensor>();
          if (hasMoments) {
            for (const n of names) {
              slots.set(`m.${n}`, { shape: [...shapes.get(n)!], data: m.cur.data.get(n)!.slice() });
              slots.set(`v.${n}`, { shape: [...shapes.get(n)!], data: v.cur.data.get(n)!.slice() });
            }
          }
          return { kind, step, slots };
        },
        importState(state: OptimizerState) {
          if (state.kind !== kind) throw new TypeError(`${kind}.importState: state is from optimizer "${state.kind}"`);
          const found = new Map<string, ArrayLike<number>>();
          for (const [slot, host] of state.slots) {
            const match = /^([mv])\.(.+)$/.exec(slot);
            if (!match) throw new RangeError(`${kind}.importState: unexpected slot "${slot}"`);
            const shape = shapes.get(match[2]);
            if (shape === undefined) throw new RangeError(`${kind}.importState: unknown parameter "${match[2]}"`);
            if (host.shape.join() !== shape.join()) throw new RangeError(`${kind}.importState: slot "${slot}" has shape [${host.shape}] but the parameter has [${shape}]`);
            found.set(slot, host.data);
          }
          // A parameter without a slot starts from zero moments, as the optimizers do.
          for (const [state, prefix] of [[m, 'm'], [v, 'v']] as const) {
            state.cur.fill(0);
            for (const [n, a] of state.cur.data) if (found.has(`${prefix}.${n}`)) a.set(found.get(`${prefix}.${n}`)!);
          }
          [hasMoments, step] = [found.size > 0, state.step];
        },
      },
      ema,

      async dispose() {
        await Promise.all([trainingSession.reset(), gradSession.reset(), optSession.reset(), ...[...chainSessions.values()].map((c) => c.reset())]);
        await worker.terminate();
      },
    };
  };
}
