import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { maskGitDecode } from '@proj/sampling';
import { initBackend } from '../backend/init-backend';
import { parseSgddConfig } from './config';
import { SgddDenoiser } from './denoiser';
import { SgddModel } from './model';
import { maskProbability } from './schedule';
import { TINY_SGDD, toyVectors, trainSteps } from './testing';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe('SgddDenoiser', () => {
  it('binds row vectors, maps masked fractions to training timesteps, returns [B, L, V] logits', async () => {
    const config = parseSgddConfig(TINY_SGDD);
    const model = SgddModel.random(config, new Rng(1));
    const source = new SgddDenoiser(model, toyVectors(2, new Rng(2)));
    const ts = source.timesteps([0, 0.5, 1]);
    expect(ts[0]).toBe(1);
    expect(ts[2]).toBe(config.num_timesteps);
    expect(Math.abs(maskProbability(ts[1], config.num_timesteps) - 0.5)).toBeLessThan(0.02);
    const call = (conditional: boolean) =>
      source.denoise({ batch: 2, length: 3, tokens: Int32Array.from([1, 1, 1, 1, 1, 0]), lengths: Int32Array.from([3, 2]), step: 0, steps: 4, maskedFraction: Float64Array.from([1, 1]), conditional });
    const [cond, uncond] = [await call(true), await call(false)];
    expect(cond).toHaveLength(2 * 3 * config.vocab_size);
    expect(Math.max(...cond.map((v, i) => Math.abs(v - uncond[i])))).toBeGreaterThan(1e-5);
    await expect(source.denoise({ batch: 3, length: 1, tokens: new Int32Array(3), lengths: new Int32Array(3), step: 0, steps: 1, maskedFraction: new Float64Array(3), conditional: true })).rejects.toThrow(
      /batch has 3 rows, the source is bound to 2 vectors/,
    );
    expect(tf.memory().numTensors).toBe(model.params.size);
    model.dispose();
  });

  it('a tiny decoder overfit on two sentences reconstructs both with MaskGIT from their vectors (guided and not)', async () => {
    const config = parseSgddConfig({ ...TINY_SGDD, hidden_size: 32, num_attention_heads: 4, intermediate_size: 64 });
    const model = SgddModel.random(config, new Rng(3));
    const sentences = [Int32Array.from([2, 7, 7, 11, 4, 9, 3]), Int32Array.from([2, 5, 13, 18, 8, 16, 6, 3])];
    const vectors = toyVectors(2, new Rng(4));
    const losses = trainSteps(model, sentences, vectors, { steps: 300, learningRate: 3e-3, seed: 5 });
    expect(losses.slice(-10).reduce((s, v) => s + v, 0) / 10).toBeLessThan(0.3);
    const source = new SgddDenoiser(model, vectors);
    for (const guidanceScale of [1, 2]) {
      // [CLS] and [SEP] are given; the decoder chooses the rest.
      const fixed = sentences.map((s) => s.map((id, i) => (i === 0 || i === s.length - 1 ? id : config.mask_token_id)));
      const { tokens } = await maskGitDecode(source, { lengths: [7, 8], fixed, config: { steps: 6, guidanceScale, temperature: 0, choiceTemperature: 0 } });
      expect(tokens.map((t) => [...t])).toEqual(sentences.map((s) => [...s]));
    }
    model.dispose();
  });
});
