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
import { sampleSgdd } from './sample';
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

  it('denoiseAt: every pass from one call over the stacked rows, the rows of denoise() at the asked positions, on both engines', async () => {
    const config = parseSgddConfig(TINY_SGDD);
    const model = SgddModel.random(config, new Rng(21));
    const vectors = toyVectors(2, new Rng(22));
    const session = await ort.InferenceSession.create(await sgddDecoderToOnnx(model));
    const step = { batch: 2, length: 6, tokens: Int32Array.from([2, 1, 9, 1, 1, 3, 2, 1, 1, 3, 0, 0]), lengths: Int32Array.from([6, 4]), step: 2, steps: 8, maskedFraction: Float64Array.from([0.75, 1]) };
    const positions = Int32Array.from([1, 3, 4, 7, 8]);
    const V = config.vocab_size;
    const rowsOf = (all: Float32Array) => Float32Array.from({ length: positions.length * V }, (_, k) => all[positions[Math.floor(k / V)] * V + (k % V)]);
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
    const results: Float32Array[][] = [];
    for (const source of [new SgddDenoiser(model, vectors), new OnnxSgddDenoiser(session, config, vectors)]) {
      const [cond, uncond] = await source.denoiseAt(step, positions, [true, false]);
      expect(cond).toHaveLength(positions.length * V);
      expect(maxDiff(cond, rowsOf(await source.denoise({ ...step, conditional: true })))).toBeLessThan(1e-5);
      expect(maxDiff(uncond, rowsOf(await source.denoise({ ...step, conditional: false })))).toBeLessThan(1e-5);
      const [alone] = await source.denoiseAt(step, positions, [false]);
      expect(maxDiff(alone, uncond)).toBeLessThan(1e-5);
      expect(await source.denoiseAt(step, new Int32Array(0), [true, false])).toEqual([new Float32Array(0), new Float32Array(0)]);
      results.push([cond, uncond]);
    }
    // The exported decoder on onnxruntime equals the model's own forward (tfjs) within 1e-4.
    expect(maxDiff(results[0][0], results[1][0])).toBeLessThan(1e-4);
    expect(maxDiff(results[0][1], results[1][1])).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(model.params.size);
    await session.release();
    model.dispose();
  });

  it('candidatesAt: the argmax over all but [MASK] / [PAD] of the guided logits and its log-probability, from the graph; argmax samples equal the tfjs host path', async () => {
    // A larger init spreads the logits, so [MASK] or [PAD] would often win if they were not ruled out.
    const config = parseSgddConfig({ ...TINY_SGDD, initializer_range: 0.5 });
    const model = SgddModel.random(config, new Rng(41));
    const vectors = toyVectors(2, new Rng(42));
    const session = await ort.InferenceSession.create(await sgddDecoderToOnnx(model));
    const onnx = new OnnxSgddDenoiser(session, config, vectors);
    const step = { batch: 2, length: 6, tokens: Int32Array.from([2, 1, 9, 1, 1, 3, 2, 1, 1, 3, 0, 0]), lengths: Int32Array.from([6, 4]), step: 2, steps: 8, maskedFraction: Float64Array.from([0.75, 1]) };
    const positions = Int32Array.from([1, 3, 4, 7, 8]);
    const V = config.vocab_size;
    let ruledOut = 0;
    for (const scale of [0, 1, 3]) {
      const passes = scale === 1 ? [true] : scale === 0 ? [false] : [true, false];
      const logits = await onnx.denoiseAt(step, positions, passes);
      const got = await onnx.candidatesAt!(step, positions, scale);
      positions.forEach((_, k) => {
        const guided = Array.from({ length: V }, (__, v) => (passes.length === 1 ? logits[0][k * V + v] : logits[1][k * V + v] + scale * (logits[0][k * V + v] - logits[1][k * V + v])));
        const raw = guided.indexOf(Math.max(...guided));
        if (raw === config.mask_token_id || raw === config.pad_token_id) ruledOut++;
        guided[config.mask_token_id] = guided[config.pad_token_id] = -Infinity;
        const best = guided.indexOf(Math.max(...guided));
        expect(got.tokens[k], `scale ${scale}, position ${k}`).toBe(best);
        expect(got.logProbs[k]).toBeCloseTo(-Math.log(guided.reduce((sum, x) => sum + Math.exp(x - guided[best]), 0)), 4);
      });
    }
    expect(ruledOut).toBeGreaterThan(0); // the rule was exercised
    // Whole argmax samples: the graph's candidates (onnx) and the host's (tfjs) pick the same tokens.
    const lengths = [9, 5];
    for (const guidance of [0, 2]) {
      const [a, b] = [await sampleSgdd(new SgddDenoiser(model, vectors), lengths, { steps: 6, guidance }), await sampleSgdd(onnx, lengths, { steps: 6, guidance })];
      expect(b.tokens).toEqual(a.tokens);
    }
    await session.release();
    model.dispose();
  });

  it('a decoder exported before the argmax head has no candidatesAt and decodes from its logits', async () => {
    const config = parseSgddConfig(TINY_SGDD);
    const old = { inputNames: ['input_ids', 'attention_mask', 'timesteps', 'semantic', 'condition', 'positions'] } as unknown as ort.InferenceSession;
    expect(new OnnxSgddDenoiser(old, config, []).candidatesAt).toBeUndefined();
  });

  it('a seeded guided sample (temperature 1, Gumbel choice noise) gives the same tokens on both engines', async () => {
    const config = parseSgddConfig(TINY_SGDD);
    const model = SgddModel.random(config, new Rng(31));
    const vectors = toyVectors(3, new Rng(32));
    const session = await ort.InferenceSession.create(await sgddDecoderToOnnx(model));
    const lengths = [9, 5, 12];
    const sample = (source: SgddDenoiser | OnnxSgddDenoiser, seed: number) =>
      sampleSgdd(source, lengths, { steps: 8, guidance: 2, temperature: 1, choiceTemperature: 4.5, rng: lengths.map((_, b) => Rng.derive(seed, b)) });
    for (const seed of [1, 2, 3]) {
      const [a, b] = [await sample(new SgddDenoiser(model, vectors), seed), await sample(new OnnxSgddDenoiser(session, config, vectors), seed)];
      expect(b.tokens).toEqual(a.tokens);
      expect(a.tokens.map((t) => t.length)).toEqual(lengths);
    }
    await session.release();
    model.dispose();
  });

  it('OnnxSgddDenoiser refuses a decoder without the positions input, saying to export again', async () => {
    const old = { inputNames: ['input_ids', 'attention_mask', 'timesteps', 'semantic', 'condition'] } as unknown as ort.InferenceSession;
    expect(() => new OnnxSgddDenoiser(old, parseSgddConfig(TINY_SGDD), [])).toThrow(/no 'positions' input .*export it again/);
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
