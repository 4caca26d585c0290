import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { generate } from '@proj/sampling';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { CAUSAL_LM_PRESETS } from './config';
import { TfCausalLmSource } from './logits-source';
import { CausalLm } from './model';

let model: CausalLm;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: 30 }, new Rng(3));
});
afterAll(() => model.dispose());

/** Greedy decoding written out: argmax of the full forward's last position, one token at a time. */
function manualGreedy(prompt: number[], steps: number): number[] {
  const seq = [...prompt];
  for (let i = 0; i < steps; i++) {
    const next = tf.tidy(() => {
      const logits = model.forward(new TfOps(model.params), tf.tensor2d([seq], [1, seq.length], 'int32'));
      return tf.argMax(tf.slice(logits, [0, seq.length - 1, 0], [1, 1, 30]), -1).dataSync()[0];
    });
    seq.push(next);
  }
  return seq.slice(prompt.length);
}

describe('TfCausalLmSource', () => {
  it('greedy generate on prompts of different lengths equals the written-out greedy loop per prompt', async () => {
    const prompts = [[1, 5, 9], [2, 4], [7, 7, 7, 3, 11]];
    const out = await generate(prompts, new TfCausalLmSource(model), { maxNewTokens: 6 });
    expect(out).toEqual(prompts.map((p) => manualGreedy(p, 6)));
  });

  it('with the KV cache generates the same tokens as full recomputation, and step logits agree within 1e-5', async () => {
    const prompts = [[1, 5, 9, 2], [2, 4, 4, 8], [7, 7, 3, 11]];
    const cached = new TfCausalLmSource(model);
    const full = new TfCausalLmSource(model, { cache: false });
    const config = { maxNewTokens: 12 };
    const a = await generate(prompts, cached, config);
    const b = await generate(prompts, full, config);
    expect(a).toEqual(b);
    expect(a).toEqual(prompts.map((p) => manualGreedy(p, 12)));
    // Step by step: the cached call on one new token per row equals the full call on the whole rows.
    const first = await cached.next({ tokens: prompts });
    expect(first.cache).toBeDefined();
    const next = [[3], [6], [1]];
    const step = await cached.next({ tokens: next, cache: first.cache });
    const whole = await full.next({ tokens: prompts.map((p, i) => [...p, ...next[i]]) });
    expect(whole.cache).toBeUndefined();
    step.logits.forEach((v, k) => expect(v).toBeCloseTo(whole.logits[k], 5));
    cached.dispose();
  });

  it('the KV cache does not leak tensors across steps', async () => {
    const source = new TfCausalLmSource(model);
    const first = await source.next({ tokens: [[1, 2, 3]] });
    const before = tf.memory().numTensors;
    let cache = first.cache;
    for (let i = 0; i < 5; i++) cache = (await source.next({ tokens: [[4]], cache })).cache;
    expect(tf.memory().numTensors).toBe(before);
    source.dispose();
  });

  it('sampling is seeded: the same rng gives the same tokens', async () => {
    const config = { maxNewTokens: 8, doSample: true, temperature: 1, topP: 0.95, repetitionPenalty: 1.2 };
    const a = await generate([[1, 2, 3]], new TfCausalLmSource(model), config, { rng: new Rng(9) });
    const b = await generate([[1, 2, 3]], new TfCausalLmSource(model), config, { rng: new Rng(9) });
    expect(a).toEqual(b);
    expect(a[0].length).toBe(8);
  });

  it('refuses an empty row and one longer than the positions', async () => {
    await expect(new TfCausalLmSource(model).next({ tokens: [[]] })).rejects.toThrow('row 0 is empty');
    await expect(new TfCausalLmSource(model).next({ tokens: [new Array(129).fill(1)] })).rejects.toThrow('longer than max_position_embeddings 128');
  });
});
