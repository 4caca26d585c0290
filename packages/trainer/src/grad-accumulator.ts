import * as tf from '@tensorflow/tfjs-core';

/**
 * Sums gradients over the micro-batches of one optimizer step. The sums are kept out of any
 * enclosing tidy; `take()` hands them over and `dispose()` frees them (also after an exception).
 */
export class GradAccumulator {
  private sums = new Map<string, tf.Tensor>();
  private count = 0;

  /** Adds one micro-batch's gradients (the caller keeps ownership of `grads`). */
  add(grads: ReadonlyMap<string, tf.Tensor>): void {
    for (const [name, g] of grads) {
      const previous = this.sums.get(name);
      this.sums.set(name, tf.keep(previous ? tf.add(previous, g) : tf.clone(g)));
      previous?.dispose();
    }
    this.count += 1;
  }

  /** Micro-batches added since the last `take()`. */
  get microBatches(): number {
    return this.count;
  }

  /** The summed gradients; the caller now owns them and the accumulator is empty. */
  take(): Map<string, tf.Tensor> {
    const out = this.sums;
    this.sums = new Map();
    this.count = 0;
    return out;
  }

  dispose(): void {
    for (const t of this.sums.values()) t.dispose();
    this.sums.clear();
    this.count = 0;
  }
}
