import { isNoDecayParam } from '@proj/trainer';
import { GraphOps, parametersAsInputs, type Graph, type GraphValue } from '../ops/graph-ops';
import { appendGradients } from './gradients';

export interface TrainingStepOptions {
  /** Name of the scalar float32 loss value of the forward graph. */
  loss: string;
  /** Parameters to update (initializers of kind 'parameter'); the others stay frozen initializers. */
  trainable: readonly string[];
  /** Global L2 norm the gradients are clipped to, as torch.nn.utils.clip_grad_norm_; 0 = measure only. */
  maxGradNorm: number;
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  weightDecay?: number; // default 0.01, decoupled
  /** Parameters that get no weight decay; default `isNoDecayParam` of @proj/trainer (biases, norms). */
  noDecay?: (name: string) => boolean;
}

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
} as const;

const NO_PARAMETERS = { has: () => false, shape: (): number[] => [] };

/**
 * One optimizer step as a single graph: forward + loss + backward (appendGradients) + global-norm
 * clipping + AdamW, in the order of @proj/trainer's `clipByGlobalNorm` and `createAdamW` (which
 * follow PyTorch):
 *   norm = √Σ‖g‖²;  g ← g · min(1, maxNorm / (norm + 1e-6))
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / bc1) · m / (√v / √bc2 + ε)
 * Inputs: the forward inputs, each trainable parameter, its `m.<p>` and `v.<p>`, and the scalars
 * `lr`, `bias_correction1`, `bias_correction2_sqrt` (so one graph serves every step and schedule).
 * Outputs: the forward outputs, `grad_norm`, and `updated.<p>`, `updated.m.<p>`, `updated.v.<p>`.
 */
export function buildTrainingStep(graph: Graph, options: TrainingStepOptions): Graph {
  const { loss, trainable, maxGradNorm, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01, noDecay = isNoDecayParam } = options;
  for (const [arg, value, ok] of [
    ['maxGradNorm', maxGradNorm, maxGradNorm >= 0],
    ['beta1', beta1, beta1 >= 0 && beta1 < 1],
    ['beta2', beta2, beta2 >= 0 && beta2 < 1],
    ['eps', eps, eps > 0],
    ['weightDecay', weightDecay, weightDecay >= 0],
  ] as const) {
    if (!ok) throw new RangeError(`buildTrainingStep: options.${arg} out of range, got ${value}`);
  }
  const { graph: withGrads, values: grads } = appendGradients(parametersAsInputs(graph, trainable), { loss, wrt: trainable, asOutputs: false });
  const g = GraphOps.continue(withGrads, NO_PARAMETERS, { namePrefix: 'step/' });
  const N = TRAINING_STEP_NAMES;
  const lr = g.input(N.lr, 'float32', []);
  const bc1 = g.input(N.biasCorrection1, 'float32', []);
  const bc2Sqrt = g.input(N.biasCorrection2Sqrt, 'float32', []);
  const all = (x: GraphValue) => x.shape.map((_, i) => i);

  // 1. Global-norm clipping (the coefficient is exactly 1 when the norm is within maxNorm).
  const norm = g.sqrt(g.addN(trainable.map((p) => g.sum(g.mul(grads.get(p)!, grads.get(p)!), all(grads.get(p)!)))));
  const coef = maxGradNorm > 0 ? g.minimum(g.scalar(1), g.div(g.scalar(maxGradNorm), g.add(norm, g.scalar(1e-6)))) : null;

  // 2. AdamW per parameter.
  const stepSize = g.div(lr, bc1);
  const decay = weightDecay > 0 ? g.sub(g.scalar(1), g.mul(lr, g.scalar(weightDecay))) : null;
  const updates: [string, GraphValue][] = [];
  for (const p of trainable) {
    const param = g.value(p);
    const grad = coef === null ? grads.get(p)! : g.mul(grads.get(p)!, coef);
    const m = g.input(N.m(p), 'float32', param.shape);
    const v = g.input(N.v(p), 'float32', param.shape);
    const decayed = decay !== null && !noDecay(p) ? g.mul(param, decay) : param;
    const mNew = g.add(g.mul(m, g.scalar(beta1)), g.mul(grad, g.scalar(1 - beta1)));
    const vNew = g.add(g.mul(v, g.scalar(beta2)), g.mul(g.mul(grad, grad), g.scalar(1 - beta2)));
    const denom = g.add(g.div(g.sqrt(vNew), bc2Sqrt), g.scalar(eps));
    updates.push([N.updated(p), g.sub(decayed, g.mul(g.div(mNew, denom), stepSize))], [N.updatedM(p), mNew], [N.updatedV(p), vNew]);
  }
  g.output(norm, N.gradNorm);
  for (const [name, value] of updates) g.output(value, name);
  return g.toGraph();
}
