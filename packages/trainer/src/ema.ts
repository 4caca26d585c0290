import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from './optimizers/optimizer';

export interface EmaState {
  updates: number;
  shadow: Map<string, HostTensor>;
}

/**
 * Exponential moving average of weights: shadow ← d·shadow + (1−d)·p after each optimizer step.
 * With `warmup`, d = min(decay, (1+t)/(10+t)) (as TensorFlow's ExponentialMovingAverage with
 * num_updates) so early, still-random weights are forgotten quickly.
 * `swapIn()` puts the averages into the model for evaluation; `swapOut()` restores the raw weights.
 */
export class Ema {
  private readonly shadow = new Map<string, tf.Variable>();
  private backup: Map<string, tf.Tensor> | null = null;
  private updates = 0;

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    readonly decay: number,
    readonly warmup = false,
  ) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`Ema: decay must be in (0, 1), got ${decay}`);
    for (const [name, p] of params) this.shadow.set(name, tf.tidy(() => tf.variable(tf.clone(p), false)));
  }

  /** The decay used by the next update. */
  currentDecay(): number {
    return this.warmup ? Math.min(this.decay, (1 + this.updates) / (10 + this.updates)) : this.decay;
  }

  update(): void {
    if (this.backup) throw new Error('Ema.update: called while the averages are swapped in');
    const d = this.currentDecay();
    tf.tidy(() => {
      for (const [name, s] of this.shadow) s.assign(tf.add(tf.mul(s, d), tf.mul(this.params.get(name)!, 1 - d)));
    });
    this.updates += 1;
  }

  get swapped(): boolean {
    return this.backup !== null;
  }

  swapIn(): void {
    if (this.backup) throw new Error('Ema.swapIn: already swapped in');
    this.backup = new Map();
    for (const [name, p] of this.params) {
      this.backup.set(name, tf.clone(p));
      p.assign(this.shadow.get(name)!);
    }
  }

  swapOut(): void {
    if (!this.backup) throw new Error('Ema.swapOut: not swapped in');
    for (const [name, p] of this.params) {
      const raw = this.backup.get(name)!;
      p.assign(raw);
      raw.dispose();
    }
    this.backup = null;
  }

  exportState(): EmaState {
    const shadow = new Map<string, HostTensor>();
    for (const [name, s] of this.shadow) shadow.set(name, { shape: [...s.shape], data: (s.dataSync() as Float32Array).slice() });
    return { updates: this.updates, shadow };
  }

  importState(state: EmaState): void {
    for (const [name, s] of this.shadow) {
      const host = state.shadow.get(name);
      if (!host) throw new RangeError(`Ema.importState: no average for parameter "${name}"`);
      if (host.shape.join() !== s.shape.join()) {
        throw new RangeError(`Ema.importState: "${name}" has shape [${host.shape}] but the parameter has [${s.shape}]`);
      }
      tf.tidy(() => s.assign(tf.tensor(host.data, host.shape, 'float32')));
    }
    this.updates = state.updates;
  }

  dispose(): void {
    if (this.backup) this.swapOut();
    for (const s of this.shadow.values()) s.dispose();
    this.shadow.clear();
  }
}
