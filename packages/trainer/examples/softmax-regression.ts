// A complete run of @proj/trainer on a toy task: softmax regression on seeded synthetic points.
//   npx nx run @proj/trainer:build   # the example imports the built package, as a user would
//   npx tsx --tsconfig packages/trainer/examples/tsconfig.json packages/trainer/examples/softmax-regression.ts [out dir]
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readSafetensors, Rng, safetensorsToFloat32, writeSafetensors } from '@proj/core';
import { train, type TrainTask } from '@proj/trainer';

// 1) data: 256 points in 2-D, class = which of 3 fixed directions scores highest
const rng = new Rng(0);
const N = 256;
const xs = Float32Array.from({ length: N * 2 }, () => rng.normal());
const labels = Array.from({ length: N }, (_, i) => {
  const [a, b] = [xs[2 * i], xs[2 * i + 1]];
  const scores = [a, b, -a - b];
  return scores.indexOf(Math.max(...scores));
});
const X = tf.tensor2d(xs, [N, 2]);
const Y = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 3), 'float32');
const [devX, devY] = [tf.slice(X, 0, 64), tf.slice(Y, 0, 64)]; // toy: dev overlaps train

// 2) the model: two Variables with checkpoint names
const params = new Map([
  ['linear.weight', tf.variable(tf.zeros([2, 3]))],
  ['linear.bias', tf.variable(tf.zeros([3]))],
]);
const logits = (x: tf.Tensor) => tf.add(tf.matMul(x, params.get('linear.weight')!), params.get('linear.bias')!);
const xent = (x: tf.Tensor, y: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(y, tf.logSoftmax(logits(x))), 1))) as tf.Scalar;

// 3) the task: a plain object
const task: TrainTask<{ x: tf.Tensor; y: tf.Tensor }> = {
  name: 'example/softmax-regression',
  describe: () => 'linear 2→3 + softmax (9 parameters)',
  params: () => params,
  numExamples: () => N,
  batch: (indices) => {
    const idx = tf.tensor1d([...indices], 'int32');
    return { x: tf.gather(X, idx), y: tf.gather(Y, idx) };
  },
  loss: (batch) => xent(batch.x, batch.y),
  evaluate: () =>
    tf.tidy(() => ({
      loss: xent(devX, devY).dataSync()[0],
      accuracy: tf.mean(tf.cast(tf.equal(tf.argMax(logits(devX), 1), tf.argMax(devY, 1)), 'float32')).dataSync()[0],
    })),
  saveWeights: (dir) =>
    writeSafetensors(join(dir, 'model.safetensors'), [...params].map(([name, v]) => [name, { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array }])),
  loadWeights: async (dir) => {
    const file = await readSafetensors(join(dir, 'model.safetensors'));
    for (const [name, v] of params) v.assign(tf.tensor(safetensorsToFloat32(file.tensors.get(name)!, name), v.shape));
  },
};

// 4) train
await tf.setBackend('cpu');
const result = await train(
  {
    epochs: 5,
    batch_size: 16,
    grad_accum_steps: 2,
    lr: 0.1,
    warmup_steps: 4,
    eval_every_steps: 10,
    early_stopping: { metric: 'accuracy', mode: 'max' },
    output_dir: process.argv[2] ?? 'runs/example-softmax-regression',
  },
  task,
);
console.log(`${result.stopped} after ${result.global_step} steps; best accuracy ${result.best_metric} at step ${result.best_step}; see ${result.run_dir}/loss.svg`);
