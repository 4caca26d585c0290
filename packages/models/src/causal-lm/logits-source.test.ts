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

  it('sampling is seeded: the same rng gives the same tokens', async () => {
    const config = { maxNewTokens: 8, doSample: true, temperature: 1, topP: 0.95, repetitionPenalty: 1.2 };
    const a = await generate([[1, 2, 3]], new TfCausalLmSource(model), config, { rng: new Rng(9) });
    const b = await generate([[1, 2, 3]], new TfCausalLmSource(model), config, { rng: new Rng(9) });
    expect(a).toEqual(b);
    expect(a[0].length).toBe(8);
  });

  it('refuses an empty row and one longer than the positions', async () => {
    await expect(new TfCausalLmSource(model).next({ tokens: [[]] })).rejects.toThrow('row 0 is empty');
    await expect(new TfCausalLmSource(model).next({ tokens: [new Array(129).fill(1)] })).rejects.toThrow('more than max_position_embeddings 128');
  });
});
