import { isNoDecayParam } from '@proj/trainer';
import { GraphOps, parametersAsInputs, type DropoutMaskInput, type Graph, type GraphNode, type GraphValue } from '../ops/graph-ops';
import type { Dim } from '../ops/ops';
import { appendGradients } from './gradients';
import { withoutDeadNodes } from './dead-nodes';
import { pruneIdentities } from './prune-identities';

/** AdamW and clipping settings, as @proj/trainer's `createAdamW` and `clipByGlobalNorm` take them. */
export interface OptimizerStepOptions {
  /** Global L2 norm the gradients are clipped to, as torch.nn.utils.clip_grad_norm_; 0 = measure only. */
  maxGradNorm: number;
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  weightDecay?: number; // default 0.01, decoupled
  /** Parameters that get no weight decay; default `isNoDecayParam` of @proj/trainer (biases, norms). */
  noDecay?: (name: string) => boolean;
  /** lr multiplier per parameter (default 1), as `createAdamW`'s: a constant of the graph times the `lr` input. */
  lrScale?: (name: string) => number;
}

export interface GradientStepOptions {
  /** Name of the scalar float32 loss value of the forward graph. */
  loss: string;
  /** Parameters to update (initializers of kind 'parameter'); the others stay frozen initializers. */
  trainable: readonly string[];
}

export type TrainingStepOptions = GradientStepOptions & OptimizerStepOptions;

/** Graph input and output names of a training step, per trainable parameter. */
export const TRAINING_STEP_NAMES = {
  lr: 'lr',
  /** 1 − β1^t, t the 1-based step. */
  biasCorrection1: 'bias_correction1',
  /** √(1 − β2^t). */
  biasCorrection2Sqrt: 'bias_correction2_sqrt',
  /** The norm before clipping (output). */
  gradNorm: 'grad_norm',
  m: (p: string) => `m.${p}`,
  v: (p: string) => `v.${p}`,
  updated: (p: string) => `updated.${p}`,
  updatedM: (p: string) => `updated.m.${p}`,
  updatedV: (p: string) => `updated.v.${p}`,
  /** Gradient step: micro-batches in the optimizer step (the loss is divided by it, as the trainer does). */
  microBatches: 'micro_batches',
  /** Gradient step: the sum of the earlier micro-batches' gradients (in) and with this one's added (out). */
  gradSum: (p: string) => `grad_sum.${p}`,
  updatedGradSum: (p: string) => `updated.grad_sum.${p}`,
  /** Optimizer step: the (summed) gradient of each parameter. */
  grad: (p: string) => `grad.${p}`,
  /** Chained steps (`chainTrainingSteps`): the name of step j's own input or output (batch, scalars, loss, grad_norm). */
  ofStep: (j: number, name: string) => `s${j}/${name}`,
} as const;

const NO_PARAMETERS = { has: () => false, shape: (): number[] => [] };

function checkOptimizerOptions(options: OptimizerStepOptions, where: string): Required<OptimizerStepOptions> {
  const { maxGradNorm, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01, noDecay = isNoDecayParam, lrScale = () => 1 } = options;
  for (const [arg, value, ok] of [
    ['maxGradNorm', maxGradNorm, maxGradNorm >= 0],
    ['beta1', beta1, beta1 >= 0 && beta1 < 1],
    ['beta2', beta2, beta2 >= 0 && beta2 < 1],
    ['eps', eps, eps > 0],
    ['weightDecay', weightDecay, weightDecay >= 0],
  ] as const) {
    if (!ok) throw new RangeError(`${where}: options.${arg} out of range, got ${value}`);
  }
  return { maxGradNorm, beta1, beta2, eps, weightDecay, noDecay, lrScale };
}

/**
 * Records global-norm clipping + AdamW on `g`: the math of @proj/trainer's `clipByGlobalNorm`
 * and `createAdamW` (which follow PyTorch),
 *   norm = √Σ‖g‖²;  c = min(1, maxNorm / (norm + 1e-6));  g ← g·c
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / bc1) · m / (√v / √bc2 + ε)
 * with the scalars folded so each parameter takes 14 full-size passes instead of 17 (equal up to
 * float32 rounding of the scalars): the norm is one ReduceSumSquare per gradient, c goes into the
 * moment coefficients, m ← β1·m + ((1−β1)·c)·g and v ← β2·v + ((1−β2)·c²)·g², and the bias
 * corrections into one step size and ε, p ← p·(1 − lr·wd) − m·(lr·√bc2/bc1) / (√v + ε·√bc2).
 * (a·x + β·y as one Gemm over [1, n] views measured no faster: onnxruntime's Gemm copies C
 * first, and the Reshapes of graph inputs and outputs copy too.)
 * lr = the `lr` input times lrScale(p); inputs m.<p>, v.<p>, lr, bias_correction1,
 * bias_correction2_sqrt; outputs grad_norm, updated.<p>, updated.m.<p>, updated.v.<p>.
 */
function recordOptimizerStep(g: GraphOps, grads: ReadonlyMap<string, GraphValue>, options: Required<OptimizerStepOptions>): void {
  const { maxGradNorm, beta1, beta2, eps, weightDecay, noDecay, lrScale } = options;
  const N = TRAINING_STEP_NAMES;
  const names = [...grads.keys()];
  const lr = g.input(N.lr, 'float32', []);
  const bc1 = g.input(N.biasCorrection1, 'float32', []);
  const bc2Sqrt = g.input(N.biasCorrection2Sqrt, 'float32', []);
  const all = (x: GraphValue) => x.shape.map((_, i) => i);

  // 1. Global-norm clipping (the coefficient is exactly 1 when the norm is within maxNorm).
  // ReduceSumSquare reads each gradient once and keeps no g² alive until the moment updates.
  const sumOfSquares = (x: GraphValue) => g.record('ReduceSumSquare', [x], [{ dtype: 'float32', shape: [] }], { axes: all(x), keepdims: false })[0];
  const norm = g.sqrt(g.addN(names.map((p) => sumOfSquares(grads.get(p)!))));
  const coef = maxGradNorm > 0 ? g.minimum(g.scalar(1), g.div(g.scalar(maxGradNorm), g.add(norm, g.scalar(1e-6)))) : null;
  const gradCoef = coef === null ? g.scalar(1 - beta1) : g.mul(coef, g.scalar(1 - beta1));
  const squareCoef = coef === null ? g.scalar(1 - beta2) : g.mul(g.mul(coef, coef), g.scalar(1 - beta2));
  const epsHat = g.mul(bc2Sqrt, g.scalar(eps));

  // 2. AdamW per parameter; the step size and decay factor are recorded once per lr scale.
  const atScale = new Map<number, { stepSize: GraphValue; decay: GraphValue | null }>();
  const scaled = (p: string) => {
    const s = lrScale(p);
    if (!(s > 0 && Number.isFinite(s))) throw new RangeError(`recordOptimizerStep: options.lrScale("${p}") must be a finite number > 0, got ${s}`);
    if (!atScale.has(s)) {
      const lrP = s === 1 ? lr : g.mul(lr, g.scalar(s));
      atScale.set(s, { stepSize: g.div(g.mul(lrP, bc2Sqrt), bc1), decay: weightDecay > 0 ? g.sub(g.scalar(1), g.mul(lrP, g.scalar(weightDecay))) : null });
    }
    return atScale.get(s)!;
  };
  const updates: [string, GraphValue][] = [];
  for (const p of names) {
    const { stepSize, decay } = scaled(p);
    const param = g.value(p);
    const m = g.input(N.m(p), 'float32', param.shape);
    const v = g.input(N.v(p), 'float32', param.shape);
    const decayed = decay !== null && !noDecay(p) ? g.mul(param, decay) : param;
    const mNew = g.add(g.mul(m, g.scalar(beta1)), g.mul(grads.get(p)!, gradCoef));
    const vNew = g.add(g.mul(v, g.scalar(beta2)), g.mul(g.mul(grads.get(p)!, grads.get(p)!), squareCoef));
    const denom = g.add(g.sqrt(vNew), epsHat);
    updates.push([N.updated(p), g.sub(decayed, g.mul(g.div(mNew, denom), stepSize))], [N.updatedM(p), mNew], [N.updatedV(p), vNew]);
  }
  g.output(norm, N.gradNorm);
  for (const [name, value] of updates) g.output(value, name);
}

/**
 * One optimizer step as a single graph: forward + loss + backward (appendGradients) + clipping +
 * AdamW (`recordOptimizerStep`). Inputs: the forward inputs, each trainable parameter, its
 * `m.<p>` and `v.<p>`, and the scalars `lr`, `bias_correction1`, `bias_correction2_sqrt` (so one
 * graph serves every step and schedule). Outputs: the forward outputs, `grad_norm`, and
 * `updated.<p>`, `updated.m.<p>`, `updated.v.<p>`.
 */
export function buildTrainingStep(graph: Graph, options: TrainingStepOptions): Graph {
  const optimizer = checkOptimizerOptions(options, 'buildTrainingStep');
  const { graph: withGrads, values: grads } = appendGradients(parametersAsInputs(graph, options.trainable), { loss: options.loss, wrt: options.trainable, asOutputs: false });
  const g = GraphOps.continue(withGrads, NO_PARAMETERS, { namePrefix: 'step/' });
  recordOptimizerStep(g, grads, optimizer);
  return pruneIdentities(withoutDeadNodes(g.toGraph()));
}

/**
 * One micro-batch of an accumulated step, as @proj/trainer's loop does it: the gradients of
 * loss / micro_batches added to `grad_sum.<p>` (zeros for the first micro-batch) and returned as
 * `updated.grad_sum.<p>`. Inputs: the forward inputs, the trainable parameters, `micro_batches`
 * (float32 scalar) and the sums; outputs: the forward outputs and the new sums. The sums then go
 * to `buildOptimizerStep`'s `grad.<p>`.
 */
export function buildGradientStep(graph: Graph, options: GradientStepOptions): Graph {
  const N = TRAINING_STEP_NAMES;
  const g = GraphOps.continue(parametersAsInputs(graph, options.trainable), NO_PARAMETERS, { namePrefix: 'micro/' });
  const scaled = g.div(g.value(options.loss), g.input(N.microBatches, 'float32', []));
  const { graph: withGrads, values: grads } = appendGradients(g.toGraph(), { loss: scaled.name, wrt: options.trainable, asOutputs: false });
  const out = GraphOps.continue(withGrads, NO_PARAMETERS, { namePrefix: 'accumulate/' });
  for (const p of options.trainable) {
    const sum = out.input(N.gradSum(p), 'float32', out.value(p).shape);
    out.output(out.add(sum, grads.get(p)!), N.updatedGradSum(p));
  }
  return pruneIdentities(withoutDeadNodes(out.toGraph()));
}

/**
 * Clipping + AdamW alone, for gradients summed over micro-batches (`buildGradientStep`): inputs
 * `<p>`, `grad.<p>`, `m.<p>`, `v.<p>` per parameter and the three scalars; outputs as
 * `buildTrainingStep`'s, without the forward outputs.
 */
export function buildOptimizerStep(parameters: readonly { name: string; shape: number[] }[], options: OptimizerStepOptions): Graph {
  const optimizer = checkOptimizerOptions(options, 'buildOptimizerStep');
  const g = new GraphOps(NO_PARAMETERS);
  const grads = new Map<string, GraphValue>();
  for (const { name, shape } of parameters) {
    g.input(name, 'float32', shape);
    grads.set(name, g.input(TRAINING_STEP_NAMES.grad(name), 'float32', shape));
  }
  recordOptimizerStep(g, grads, optimizer);
  return pruneIdentities(withoutDeadNodes(g.toGraph()));
}

/**
 * `k` optimizer steps as one graph: `k` copies of a `buildTrainingStep` graph where copy j reads
 * the weights and moments copy j − 1 wrote. So a session run does k steps and weights, m and v
 * cross between host and onnxruntime once per k steps (onnxruntime-node copies every output of a
 * run; for a 26M-parameter model that is 296 MB a run). Inputs: each trainable `<p>`, `m.<p>`,
 * `v.<p>` (into step 0), and every other input of the step graph once per step, named
 * `ofStep(j, name)` (the batch, dropout masks, `lr` and the bias corrections); outputs: every
 * forward output and `grad_norm` per step (`ofStep(j, name)`), then `updated.<p>`,
 * `updated.m.<p>`, `updated.v.<p>` of the last step. Constants are shared by the copies; each
 * copy's symbolic dims get its own names, so the steps' batches may differ in shape. The math is
 * the same nodes in the same order, so the result equals k runs of the step graph.
 */
export function chainTrainingSteps(step: Graph, trainable: readonly string[], k: number): Graph {
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`chainTrainingSteps: k must be an integer >= 1, got ${k}`);
  const N = TRAINING_STEP_NAMES;
  const carried = new Map(trainable.flatMap((p) => [[p, N.updated(p)], [N.m(p), N.updatedM(p)], [N.v(p), N.updatedV(p)]] as const));
  const carriedOut = new Set(carried.values());
  const inputNames = new Set(step.inputs.map((i) => i.name));
  for (const [input, output] of carried) {
    if (!inputNames.has(input) || !step.outputs.some((o) => o.name === output)) throw new RangeError(`chainTrainingSteps: the step graph has no input '${input}' or output '${output}' (not a buildTrainingStep graph of these parameters?)`);
  }
  const shared = new Set(step.initializers.map((i) => i.name));
  const dimOf = (j: number) => (d: Dim): Dim => (typeof d === 'number' ? d : d.replace(/[A-Za-z_][\w.]*/g, (symbol) => `s${j}_${symbol}`));
  const nodes: GraphNode[] = [];
  const valueInfo: GraphValue[] = [];
  const inputs: GraphValue[] = [];
  const outputs: GraphValue[] = [];
  const dropoutMasks: DropoutMaskInput[] = [];
  for (let j = 0; j < k; j++) {
    const dim = dimOf(j);
    // Step j's name of a value of the step graph: shared constants keep theirs, carried inputs
    // are the previous step's outputs, the last step's carried outputs are the graph's.
    const rename = (name: string): string => {
      if (name === '' || shared.has(name)) return name;
      if (carried.has(name)) return j === 0 ? name : N.ofStep(j - 1, carried.get(name)!);
      if (carriedOut.has(name) && j === k - 1) return name;
      return N.ofStep(j, name);
    };
    const valueOf = (v: GraphValue): GraphValue => ({ name: rename(v.name), dtype: v.dtype, shape: v.shape.map(dim) });
    for (const input of step.inputs) if (j === 0 || !carried.has(input.name)) inputs.push(valueOf(input));
    for (const mask of step.dropoutMasks ?? []) dropoutMasks.push({ name: rename(mask.name), rate: mask.rate });
    for (const node of step.nodes) {
      const attrs = Object.fromEntries(Object.entries(node.attrs).map(([key, a]) => [key, Array.isArray(a) ? (a as Dim[]).map(dim) : a])) as GraphNode['attrs'];
      nodes.push({ ...node, name: N.ofStep(j, node.name), inputs: node.inputs.map(rename), outputs: node.outputs.map(rename), attrs });
    }
    for (const v of step.valueInfo) valueInfo.push(valueOf(v));
    for (const output of step.outputs) if (!carriedOut.has(output.name) || j === k - 1) outputs.push(valueOf(output));
  }
  return { ...(dropoutMasks.length > 0 ? { dropoutMasks } : {}), inputs, outputs, nodes, initializers: step.initializers, valueInfo };
}
