import * as tf from '@tensorflow/tfjs-core';
import { safeVariableGrads } from '@proj/trainer';

let storeCounter = 0;

/**
 * Model parameters by Hugging Face tensor name (`bert.encoder.layer.0.attention.self.query.weight`),
 * each held as a tfjs Variable. Variable names are made unique per store so two models can
 * coexist (tfjs registers variables globally).
 */
export class ParameterStore {
  private readonly vars = new Map<string, tf.Variable>();
  private readonly id = ++storeCounter;

  /** Adds (or replaces) a parameter; the store takes ownership of the values. */
  set(name: string, value: tf.Tensor, trainable = true): tf.Variable {
    if (value.dtype !== 'float32') throw new TypeError(`ParameterStore.set: ${name} must be float32, got ${value.dtype}`);
    this.vars.get(name)?.dispose();
    const v = tf.variable(value, trainable, `p${this.id}/${name}`);
    value.dispose();
    this.vars.set(name, v);
    return v;
  }

  get(name: string): tf.Variable {
    const v = this.vars.get(name);
    if (v === undefined) throw new Error(`ParameterStore.get: no parameter named '${name}' (have ${this.vars.size}: ${[...this.vars.keys()].slice(0, 5).join(', ')}, ...)`);
    return v;
  }

  has(name: string): boolean {
    return this.vars.has(name);
  }

  names(): string[] {
    return [...this.vars.keys()];
  }

  shape(name: string): number[] {
    return [...this.get(name).shape];
  }

  get size(): number {
    return this.vars.size;
  }

  /** Total number of scalar parameters. */
  count(): number {
    let n = 0;
    for (const v of this.vars.values()) n += v.size;
    return n;
  }

  variables(): tf.Variable[] {
    return [...this.vars.values()];
  }

  /** Parameter values as a float32 array, for saving. A copy: the cpu backend hands out its own storage. */
  async toFloat32(name: string): Promise<Float32Array> {
    return ((await this.get(name).data()) as Float32Array).slice();
  }

  /**
   * Loss and gradients of every trainable parameter, keyed by parameter name. Uses
   * `safeVariableGrads`, so an exception in `loss` does not leak the tape's tensors.
   */
  grads(loss: () => tf.Scalar): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
    const trainable = [...this.vars.entries()].filter(([, v]) => v.trainable);
    const { value, grads } = safeVariableGrads(loss, trainable.map(([, v]) => v));
    return { value, grads: new Map(trainable.filter(([, v]) => grads[v.name] !== undefined).map(([n, v]) => [n, grads[v.name]])) };
  }

  dispose(): void {
    for (const v of this.vars.values()) v.dispose();
    this.vars.clear();
  }
}
