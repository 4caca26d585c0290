import * as tf from '@tensorflow/tfjs-core';
import { clipByGlobalNorm } from './clip-grad-norm';
import { Ema } from './ema';
import type { EngineSetup, TrainEngine } from './engine';
import { GradAccumulator } from './grad-accumulator';
import { createAdam } from './optimizers/adam';
import { createAdamW } from './optimizers/adamw';
import { safeVariableGrads } from './variable-grads';

/**
 * The tfjs engine (the default): `task.loss` under `tf.variableGrads` per micro-batch, gradients
 * summed in a `GradAccumulator`, then `clipByGlobalNorm`, AdamW / Adam and `Ema` on the task's
 * own Variables, on whatever tfjs backend is active.
 */
export function createTfjsEngine<B>({ config, task, trainable, lrScale }: EngineSetup<B>): TrainEngine {
  const varList = [...trainable.values()];
  const nameOfVar = new Map([...trainable].map(([name, v]) => [v.name, name]));
  const adam = { beta1: config.adam_beta1, beta2: config.adam_beta2, eps: config.adam_eps, lrScale };
  const optimizer = config.optimizer === 'adamw' ? createAdamW(trainable, { ...adam, weightDecay: config.weight_decay }) : createAdam(trainable, adam);
  const ema = config.ema_decay > 0 ? new Ema(trainable, config.ema_decay, config.ema_warmup) : null;
  const accumulator = new GradAccumulator();

  return {
    name: `tfjs (${tf.getBackend()})`,
    optimizer,
    ema,

    async microStep(indices, ctx, groupSize) {
      // A scope rather than tf.tidy because batch() may be async (records read from disk); the
      // loop is sequential, so nothing else allocates tensors while it waits.
      tf.engine().startScope();
      try {
        const batch = await task.batch(indices, ctx);
        const tokens = task.tokens?.(batch) ?? indices.length;
        // The loss and the task's metrics (one forward pass), kept past the gradient tape's tidy
        // to be read, and freed even when the backward pass throws.
        const kept: { loss: tf.Scalar[]; metrics: [string, tf.Scalar][] } = { loss: [], metrics: [] };
        try {
          const { grads } = safeVariableGrads(() => {
            const out = task.trainMetrics ? task.trainMetrics.lossAndMetrics(batch, ctx) : { loss: task.loss(batch, ctx), metrics: {} };
            kept.loss.push(tf.keep(out.loss));
            for (const [name, t] of Object.entries(out.metrics)) kept.metrics.push([name, tf.keep(t)]);
            return tf.div(out.loss, groupSize) as tf.Scalar;
          }, varList);
          const named = new Map<string, tf.Tensor>();
          for (const [varName, g] of Object.entries(grads)) if (g) named.set(nameOfVar.get(varName)!, g);
          accumulator.add(named); // keeps its sums out of this scope
          return { loss: kept.loss[0].dataSync()[0], tokens, metrics: Object.fromEntries(kept.metrics.map(([name, t]) => [name, t.dataSync()[0]])) };
        } finally {
          tf.dispose([...kept.loss, ...kept.metrics.map(([, t]) => t)]);
        }
      } finally {
        tf.engine().endScope();
      }
    },

    async optimizerStep(lr) {
      const summed = accumulator.take();
      const clipped = clipByGlobalNorm(summed, config.max_grad_norm);
      try {
        optimizer.apply(clipped.grads, lr);
      } finally {
        tf.dispose([...summed.values(), ...clipped.grads.values()]);
      }
      ema?.update();
      return clipped.norm;
    },

    async withEvalWeights(fn) {
      ema?.swapIn();
      try {
        return await fn();
      } finally {
        ema?.swapOut();
      }
    },

    // The Variables are this engine's weights.
    async syncToTask() {},
    async syncFromTask() {},

    async dispose() {
      accumulator.dispose();
      ema?.dispose();
      optimizer.dispose();
    },
  };
}
