import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { TfOps } from '../ops/tf-ops';
import { makeSgddBatch } from './batch';
import type { SgddConfigInput } from './config';
import type { SgddModel } from './model';

/** Test helpers (not exported from the package): a tiny decoder, toy sentences and vectors, a bare Adam loop. */

/** Vocabulary 20: 0 = [PAD], 1 = [MASK], 2 = [CLS], 3 = [SEP], 4..19 tokens. */
export const TINY_SGDD = {
  vocab_size: 20,
  hidden_size: 16,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  intermediate_size: 32,
  max_length: 12,
  semantic_size: 6,
  num_timesteps: 100,
  dropout: 0,
  mask_token_id: 1,
  pad_token_id: 0,
  cls_token_id: 2,
  sep_token_id: 3,
} satisfies SgddConfigInput;

/** `n` rows [CLS] x [SEP], x 4..8 tokens drawn from ids 4..19. */
export function toyRows(n: number, rng: Rng): Int32Array[] {
  return Array.from({ length: n }, () => Int32Array.from([2, ...Array.from({ length: 4 + rng.int(5) }, () => 4 + rng.int(16)), 3]));
}

/** One random unit-variance "encoder vector" per row (semantic_size 6). */
export function toyVectors(n: number, rng: Rng, size = TINY_SGDD.semantic_size): Float32Array[] {
  return Array.from({ length: n }, () => Float32Array.from({ length: size }, () => rng.normal()));
}

/** `steps` Adam steps on fresh noisings of all rows; returns the training losses. */
export function trainSteps(model: SgddModel, rows: Int32Array[], vectors: Float32Array[], options: { steps: number; learningRate: number; seed: number }): number[] {
  const optimizer = tf.train.adam(options.learningRate);
  const rng = new Rng(options.seed);
  const ops = new TfOps(model.params);
  const losses: number[] = [];
  for (let step = 0; step < options.steps; step++) {
    const batch = makeSgddBatch(rows, vectors, model.config, rng);
    const { value, grads } = model.params.grads(() => model.batchLoss(ops, batch, { training: { rng } }) as tf.Scalar);
    optimizer.applyGradients([...grads].map(([name, tensor]) => ({ name: model.params.get(name).name, tensor })));
    losses.push(value.dataSync()[0]);
    tf.dispose([value, ...grads.values()]);
  }
  optimizer.dispose();
  return losses;
}
