import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { TfOps } from '../ops/tf-ops';
import { forwardProcessOptions, packVectors } from './batch';
import { maskTokens } from './forward-process';
import type { SgddModel } from './model';
import { maskProbability, timestepForMaskedFraction } from './schedule';
import type { SgddExamples } from './task';

/** The decoder at one noise level: conditional masked-token loss and argmax accuracy. */
export interface NoiseLevelScore {
  /** The masked fraction asked for. */
  fraction: number;
  /** The training timestep nearest to it, and that timestep's own mask probability. */
  timestep: number;
  mask_probability: number;
  loss: number;
  /** Share of masked tokens whose argmax is the original token. */
  accuracy: number;
  /** Masked tokens scored. */
  tokens: number;
}

/**
 * Scores the decoder at fixed noise levels instead of the training mix: every row is noised at
 * the timestep whose mask probability is nearest each fraction (the same draws for a seed), and
 * the masked positions are predicted with the rows' vectors. The dev loss averages over all
 * levels; this says where it comes from: a decoder that uses its context does far better at 5%
 * masked than at 100%, one that decodes from the vector's bag of characters hardly does.
 */
export function scoreNoiseLevels(model: SgddModel, examples: SgddExamples, fractions: readonly number[], options: { seed?: number; batchSize?: number } = {}): NoiseLevelScore[] {
  const { seed = 1234, batchSize = 32 } = options;
  const c = model.config;
  if (examples.rows.length !== examples.vectors.length) throw new RangeError(`scoreNoiseLevels: ${examples.rows.length} rows but ${examples.vectors.length} vectors`);
  const ops = new TfOps(model.params);
  return fractions.map((fraction) => {
    if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`scoreNoiseLevels: a fraction must be in (0, 1], got ${fraction}`);
    const t = timestepForMaskedFraction(fraction, c.num_timesteps);
    const rng = new Rng(seed);
    let [loss, correct, tokens] = [0, 0, 0];
    for (let i = 0; i < examples.rows.length; i += batchSize) {
      const rows = examples.rows.slice(i, i + batchSize);
      const B = rows.length;
      const noised = maskTokens(rows, new Int32Array(B).fill(t), rng, forwardProcessOptions(c));
      if (noised.positions.length === 0) continue;
      const batch = { batch: B, length: noised.inputIds.length / B, ...noised, timesteps: new Int32Array(B).fill(t), semantic: packVectors(examples.vectors.slice(i, i + B), c.semantic_size, 'scoreNoiseLevels'), condition: new Float32Array(B).fill(1) };
      const [sum, hits] = tf.tidy(() => {
        const { inputs, positions } = model.hostInputs(ops, batch);
        const { logits } = model.forward(ops, inputs, { positions });
        const targets = tf.tensor1d(noised.targets, 'int32');
        const mean = ops.crossEntropy(logits as tf.Tensor, targets);
        const right = tf.sum(tf.cast(tf.equal(tf.argMax(logits as tf.Tensor2D, 1), targets), 'int32'));
        return [mean.dataSync()[0] * noised.positions.length, right.dataSync()[0]];
      });
      [loss, correct, tokens] = [loss + sum, correct + hits, tokens + noised.positions.length];
    }
    return { fraction, timestep: t, mask_probability: maskProbability(t, c.num_timesteps), loss: tokens ? loss / tokens : NaN, accuracy: tokens ? correct / tokens : NaN, tokens };
  });
}
