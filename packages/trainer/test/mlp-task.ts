// A tiny task for the trainer tests: a 2-layer tanh MLP classifying seeded synthetic points.
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, Rng, safetensorsToFloat32, writeSafetensors } from '@proj/core';
import type { StepContext, TrainTask } from '../src/task';

export interface MlpTaskOptions {
  examples?: number; // training examples (default 48)
  devExamples?: number; // default 32
  features?: number; // default 4
  hidden?: number; // default 8
  classes?: number; // default 3
  seed?: number; // data and initial weights (default 7)
  inputNoise?: number; // std of noise drawn from ctx.rng in loss(); 0 = deterministic batches (default 0.05)
  trainable?: (name: string) => boolean;
  /** Reported by newParameters() (head_lr_scale applies to them); default none (no newParameters). */
  newParameters?: string[];
  /**
   * Declares trainMetrics: `xent` (the loss itself, so it must log as the loss does) and `examples`
   * (the micro-batch's size, whose means over groups and windows are known exactly).
   */
  trainMetrics?: boolean;
  /** Throws from loss() at this (epoch, batchIndex), to test clean-up. */
  failAt?: { epoch: number; batchIndex: number };
  /** Reported as exampleLength() (for group_by_length); default none. */
  exampleLength?: (index: number) => number;
}

export interface MlpBatch {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
  count: number;
}

function makeData(rng: Rng, n: number, features: number, classes: number, truth: number[][]) {
  const x = new Float32Array(n * features);
  const y = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    const scores = new Array<number>(classes).fill(0);
    for (let f = 0; f < features; f++) {
      const v = rng.normal();
      x[i * features + f] = v;
      for (let c = 0; c < classes; c++) scores[c] += v * truth[f][c];
    }
    for (let c = 0; c < classes; c++) scores[c] += 0.3 * rng.normal();
    y[i * classes + scores.indexOf(Math.max(...scores))] = 1;
  }
  return { x, y };
}

export function createMlpTask(options: MlpTaskOptions = {}): TrainTask<MlpBatch> & { dispose(): void; snapshot(): Map<string, Float32Array> } {
  const { examples = 48, devExamples = 32, features = 4, hidden = 8, classes = 3, seed = 7, inputNoise = 0.05 } = options;
  const rng = new Rng(seed);
  const truth = Array.from({ length: features }, () => Array.from({ length: classes }, () => rng.normal()));
  const trainData = makeData(rng, examples, features, classes, truth);
  const devData = makeData(rng, devExamples, features, classes, truth);
  const init = (rows: number, cols: number) => Float32Array.from({ length: rows * cols }, () => rng.normal() / Math.sqrt(rows));
  // tidy: tf.variable shares its initial tensor's data, which would otherwise stay tracked.
  const variable = (make: () => tf.Tensor) => tf.tidy(() => tf.variable(make()));
  const params = new Map<string, tf.Variable>([
    ['hidden.weight', variable(() => tf.tensor2d(init(features, hidden), [features, hidden]))],
    ['hidden.bias', variable(() => tf.zeros([hidden]))],
    ['out.weight', variable(() => tf.tensor2d(init(hidden, classes), [hidden, classes]))],
    ['out.bias', variable(() => tf.zeros([classes]))],
  ]);
  const p = (name: string) => params.get(name)!;
  const forward = (x: tf.Tensor2D) => tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(x, p('hidden.weight')), p('hidden.bias'))), p('out.weight')), p('out.bias'));
  const xent = (logits: tf.Tensor, y: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  const loss = (batch: MlpBatch, ctx: StepContext): tf.Scalar => {
    if (options.failAt && options.failAt.epoch === ctx.epoch && options.failAt.batchIndex === ctx.batchIndex) {
      throw new Error(`mlp-task: planned failure at epoch ${ctx.epoch}, batch ${ctx.batchIndex}`);
    }
    let x: tf.Tensor2D = batch.x;
    if (inputNoise > 0) {
      const noise = Float32Array.from({ length: batch.x.size }, () => inputNoise * ctx.rng.normal());
      x = tf.add(x, tf.tensor2d(noise, batch.x.shape));
    }
    return xent(forward(x), batch.y);
  };
  const devX = tf.keep(tf.tensor2d(devData.x, [devExamples, features]));
  const devY = tf.keep(tf.tensor2d(devData.y, [devExamples, classes]));

  return {
    name: 'test/mlp',
    describe: () => `mlp ${features}→${hidden}→${classes} (tanh)`,
    params: () => params,
    trainable: options.trainable,
    newParameters: options.newParameters ? () => new Set(options.newParameters) : undefined,
    numExamples: () => examples,
    ...(options.exampleLength && { exampleLength: options.exampleLength }),
    batch(indices) {
      const xs = new Float32Array(indices.length * features);
      const ys = new Float32Array(indices.length * classes);
      indices.forEach((idx, row) => {
        xs.set(trainData.x.subarray(idx * features, (idx + 1) * features), row * features);
        ys.set(trainData.y.subarray(idx * classes, (idx + 1) * classes), row * classes);
      });
      return { x: tf.tensor2d(xs, [indices.length, features]), y: tf.tensor2d(ys, [indices.length, classes]), count: indices.length };
    },
    loss,
    ...(options.trainMetrics && {
      trainMetrics: {
        names: ['xent', 'examples'],
        lossAndMetrics(batch: MlpBatch, ctx: StepContext) {
          const l = loss(batch, ctx);
          return { loss: l, metrics: { xent: l, examples: tf.scalar(batch.count) } };
        },
      },
    }),
    tokens: (batch) => batch.count,
    evaluate() {
      return tf.tidy(() => {
        const logits = forward(devX);
        const loss = xent(logits, devY).dataSync()[0];
        const correct = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.argMax(devY, 1)), 'float32')).dataSync()[0];
        return { loss, accuracy: correct / devExamples };
      });
    },
    async saveWeights(dir) {
      await writeSafetensors(
        join(dir, 'model.safetensors'),
        [...params].map(([name, v]) => [name, { dtype: 'F32', shape: [...v.shape], data: v.dataSync() as Float32Array }]),
      );
    },
    async loadWeights(dir) {
      const file = await readSafetensors(join(dir, 'model.safetensors'));
      for (const [name, v] of params) {
        const t = file.tensors.get(name);
        if (!t) throw new Error(`mlp-task.loadWeights: ${dir} has no tensor "${name}"`);
        tf.tidy(() => v.assign(tf.tensor(safetensorsToFloat32(t, name), t.shape)));
      }
    },
    snapshot: () => new Map([...params].map(([name, v]) => [name, (v.dataSync() as Float32Array).slice()])),
    dispose() {
      for (const v of params.values()) v.dispose();
      devX.dispose();
      devY.dispose();
    },
  };
}

/** Sets up tfjs for a test file: gradients and the cpu backend. */
export async function useCpuBackend(): Promise<void> {
  await import('@tensorflow/tfjs-core/dist/register_all_gradients');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
}
