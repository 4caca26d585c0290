import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import * as ort from 'onnxruntime-node';
import { maskGitDecode } from '@proj/sampling';
import { sgddDecoderToOnnx } from '../onnx/export';
import { initBackend } from '../backend/init-backend';
import { parseSgddConfig } from './config';
import { OnnxSgddDenoiser, SgddDenoiser } from './denoiser';
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
    // Each step sees four noisings of each sentence.
    const losses = trainSteps(model, [0, 1, 2, 3].flatMap(() => sentences), [0, 1, 2, 3].flatMap(() => vectors), { steps: 150, learningRate: 3e-3, seed: 5 });
    expect(losses.slice(-10).reduce((s, v) => s + v, 0) / 10).toBeLessThan(0.3);
    const source = new SgddDenoiser(model, vectors);
    // [CLS] and [SEP] are given; the decoder chooses the rest.
    const fixed = sentences.map((s) => s.map((id, i) => (i === 0 || i === s.length - 1 ? id : config.mask_token_id)));
    for (const guidanceScale of [1, 2]) {
      const { tokens } = await maskGitDecode(source, { lengths: [7, 8], fixed, config: { steps: 6, guidanceScale, temperature: 0, choiceTemperature: 0 } });
      expect(tokens.map((t) => [...t])).toEqual(sentences.map((s) => [...s]));
    }

    // The exported decoder on onnxruntime: same guided logits within 1e-4, and a seeded sample
    // (temperature 1, Gumbel choice noise) gives the same tokens as tfjs.
    const session = await ort.InferenceSession.create(await sgddDecoderToOnnx(model));
    const onnx = new OnnxSgddDenoiser(session, config, vectors);
    const probe = { batch: 2, length: 8, tokens: Int32Array.from([2, 1, 1, 1, 1, 1, 3, 0, 2, 1, 13, 1, 1, 1, 1, 3]), lengths: Int32Array.from([7, 8]), step: 1, steps: 6, maskedFraction: Float64Array.from([1, 0.8333]), conditional: true };
    const [a, b] = [await source.denoise(probe), await onnx.denoise(probe)];
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i])))).toBeLessThan(1e-4);
    const sample = (s: SgddDenoiser | OnnxSgddDenoiser) =>
      maskGitDecode(s, { lengths: [7, 8], fixed, config: { steps: 6, guidanceScale: 2, temperature: 1, choiceTemperature: 4.5 }, rng: [new Rng(10), new Rng(11)] });
    expect((await sample(onnx)).tokens).toEqual((await sample(source)).tokens);
    await session.release();
    model.dispose();
  }, 180_000); // ~20 s on idle cores; it passed 60 s on a loaded shared machine
});
