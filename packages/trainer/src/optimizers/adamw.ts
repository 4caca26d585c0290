import * as tf from '@tensorflow/tfjs-core';
import { isNoDecayParam, type HostTensor, type Optimizer, type OptimizerState } from './optimizer';

export interface AdamWOptions {
  beta1?: number; // default 0.9
  beta2?: number; // default 0.999
  eps?: number; // default 1e-8
  weightDecay?: number; // default 0.01, decoupled
  /** Parameters that get no weight decay; default `isNoDecayParam` (biases, norms). */
  noDecay?: (name: string) => boolean;
  /**
   * Learning-rate multiplier per parameter (default 1 for all), as PyTorch parameter groups with
   * their own lr: the step and the decoupled decay of `name` use lr · lrScale(name).
   */
  lrScale?: (name: string) => number;
}

/**
 * AdamW (Loshchilov & Hutter), in the order torch.optim.AdamW computes it so results match to
 * float32 rounding:
 *   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *   p ← p − (lr / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)
 * where lr is the step's lr times `lrScale(p)`.
 */
export function createAdamW(params: ReadonlyMap<string, tf.Variable>, options: AdamWOptions = {}): Optimizer {
  return createAdamFamily('adamw', params, options);
}

/** Shared by Adam and AdamW: they differ only in the decay term. */
export function createAdamFamily(kind: string, params: ReadonlyMap<string, tf.Variable>, options: AdamWOptions): Optimizer {
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  const weightDecay = options.weightDecay ?? 0.01;
  const noDecay = options.noDecay ?? isNoDecayParam;
  const lrScale = options.lrScale ?? (() => 1);
  for (const [arg, value, ok] of [
    ['beta1', beta1, beta1 >= 0 && beta1 < 1],
    ['beta2', beta2, beta2 >= 0 && beta2 < 1],
    ['eps', eps, eps > 0],
    ['weightDecay', weightDecay, weightDecay >= 0],
  ] as const) {
    if (!ok) throw new RangeError(`${kind}: options.${arg} out of range, got ${value}`);
  }

  // Moments are created lazily at a parameter's first gradient, like torch's state dict.
  const m = new Map<string, tf.Variable>();
  const v = new Map<string, tf.Variable>();
  let step = 0;

  const paramOf = (name: string, where: string): tf.Variable => {
    const p = params.get(name);
    if (!p) throw new RangeError(`${kind}.${where}: unknown parameter "${name}"`);
    return p;
  };
  // Each parameter's lr multiplier, asked once and checked.
  const scales = new Map<string, number>();
  const scaleOf = (name: string): number => {
    let s = scales.get(name);
    if (s === undefined) {
      s = lrScale(name);
      if (!(s > 0 && Number.isFinite(s))) throw new RangeError(`${kind}: options.lrScale("${name}") must be a finite number > 0, got ${s}`);
      scales.set(name, s);
    }
    return s;
  };

  return {
    kind,
    get step() {
      return step;
    },

    apply(grads, lr) {
      if (!(lr >= 0)) throw new RangeError(`${kind}.apply: lr must be >= 0, got ${lr}`);
      step += 1;
      const bc1 = 1 - beta1 ** step;
      const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
      for (const [name, g] of grads) {
        const p = paramOf(name, 'apply');
        const lrP = lr * scaleOf(name);
        if (!m.has(name)) {
          // tidy: tf.variable shares the initial tensor's data, which would otherwise stay tracked.
          m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
          v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
        }
        const mv = m.get(name)!;
        const vv = v.get(name)!;
        tf.tidy(() => {
          const decay = weightDecay > 0 && !noDecay(name) ? 1 - lrP * weightDecay : 1;
          const decayed = decay === 1 ? p : tf.mul(p, decay);
          const mNew = tf.add(tf.mul(mv, beta1), tf.mul(g, 1 - beta1));
          const vNew = tf.add(tf.mul(vv, beta2), tf.mul(tf.mul(g, g), 1 - beta2));
          const denom = tf.add(tf.div(tf.sqrt(vNew), bc2Sqrt), eps);
          mv.assign(mNew);
          vv.assign(vNew);
          p.assign(tf.sub(decayed, tf.mul(tf.div(mNew, denom), lrP / bc1)));
        });
      }
    },

    exportState() {
      const slots = new Map<string, HostTensor>();
      for (const [name, mv] of m) {
        slots.set(`m.${name}`, { shape: [...mv.shape], data: (mv.dataSync() as Float32Array).slice() });
        slots.set(`v.${name}`, { shape: [...mv.shape], data: (v.get(name)!.dataSync() as Float32Array).slice() });
      }
      return { kind, step, slots };
    },

    importState(state: OptimizerState) {
      if (state.kind !== kind) throw new TypeError(`${kind}.importState: state is from optimizer "${state.kind}"`);
      for (const t of [...m.values(), ...v.values()]) t.dispose();
      m.clear();
      v.clear();
      for (const [slot, host] of state.slots) {
        const match = /^([mv])\.(.+)$/.exec(slot);
        if (!match) throw new RangeError(`${kind}.importState: unexpected slot "${slot}"`);
        const p = paramOf(match[2], 'importState');
        if (host.shape.join() !== p.shape.join()) {
          throw new RangeError(`${kind}.importState: slot "${slot}" has shape [${host.shape}] but the parameter has [${p.shape}]`);
        }
        (match[1] === 'm' ? m : v).set(match[2], tf.tidy(() => tf.variable(tf.tensor(host.data, host.shape, 'float32'), false)));
      }
      step = state.step;
    },

    dispose() {
      for (const t of [...m.values(), ...v.values()]) t.dispose();
      m.clear();
      v.clear();
    },
  };
}
