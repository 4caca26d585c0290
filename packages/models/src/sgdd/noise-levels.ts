import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { TfOps } from '../ops/tf-ops';
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
      const noised = maskTokens(rows, new Int32Array(B).fill(t), rng, { numTimesteps: c.num_timesteps, maskId: c.mask_token_id, padId: c.pad_token_id, keepIds: [c.cls_token_id, c.sep_token_id] });
      if (noised.positions.length === 0) continue;
      const L = noised.inputIds.length / B;
      const semantic = new Float32Array(B * c.semantic_size);
      examples.vectors.slice(i, i + B).forEach((v, b) => semantic.set(v, b * c.semantic_size));
      const [sum, hits] = tf.tidy(() => {
        const { logits } = model.forward(
          ops,
          {
            inputIds: tf.tensor2d(noised.inputIds, [B, L], 'int32'),
            attentionMask: tf.tensor2d(noised.attentionMask, [B, L], 'int32'),
            timesteps: tf.tensor1d(new Int32Array(B).fill(t), 'int32'),
            semantic: tf.tensor2d(semantic, [B, c.semantic_size]),
            condition: tf.ones([B]),
          },
          { positions: tf.tensor1d(noised.positions, 'int32') },
        );
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
