import { Rng } from '@proj/core';
import { BpeTokenizer } from '@proj/models';
import { generate, type CausalLogitsSource } from '@proj/sampling';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundled } from '../bundled-data';
import { generateRows, type GenerationJob, type RowSampling } from './serve-batch';

let tokenizer: BpeTokenizer;
beforeAll(async () => {
  tokenizer = await BpeTokenizer.fromDirectory(bundled.tokenizer);
});

/**
 * A model without weights: a row's next-token logits are seeded by its own sequence only, so a
 * row's answer cannot depend on the batch it runs in. Full sequences every call (no cache).
 */
function seededSource(vocabSize: number, scale: number): CausalLogitsSource {
  return {
    vocabSize,
    async next({ tokens }) {
      const logits = new Float32Array(tokens.length * vocabSize);
      tokens.forEach((sequence, b) => {
        const rng = Rng.derive(5, sequence.length, ...sequence);
        for (let v = 0; v < vocabSize; v++) logits[b * vocabSize + v] = scale * rng.float();
      });
      return { logits };
    },
  };
}

const base: RowSampling = { doSample: false, temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, noRepeatNgramSize: 0, maxTokens: 8, seed: 0, stop: [] };
const SAMPLINGS: RowSampling[] = [
  base, // greedy
  { ...base, doSample: true, temperature: 0.9, topP: 0.95, topK: 50, minP: 0.01, repetitionPenalty: 1.2, seed: 7, maxTokens: 12 },
  { ...base, doSample: true, temperature: 1.1, noRepeatNgramSize: 2, seed: 3, maxTokens: 5 },
  { ...base, doSample: true, topK: 3, seed: 1 },
  { ...base, repetitionPenalty: 1.5, noRepeatNgramSize: 1, maxTokens: 10 }, // greedy with penalties
];

describe('generateRows', () => {
  it('each row of a batch gets the tokens `generate` picks for it alone with its own settings and seed', async () => {
    const source = seededSource(tokenizer.vocabSize, 12);
    const eos = tokenizer.special.eos!.id;
    const prompts = [[1, 300], [1, 500, 600], [1, 42], [1, 300], [1, 77, 78, 79]];
    const jobs: GenerationJob[] = prompts.map((ids, b) => ({ ids, sampling: SAMPLINGS[b] }));
    const together = await generateRows(jobs, source, tokenizer);
    const alone = await Promise.all(
      jobs.map(async ({ ids, sampling: { maxTokens, seed, stop: _stop, ...controls } }) => {
        const [tokens] = await generate([ids], source, { ...controls, maxNewTokens: maxTokens, eosTokenId: eos }, { rng: new Rng(seed) });
        return { text: await tokenizer.decode(tokens, { skipSpecialTokens: true }), completionTokens: tokens.length, finishReason: tokens.at(-1) === eos ? 'stop' : 'length' };
      }),
    );
    expect(together.map(({ text, completionTokens, finishReason }) => ({ text, completionTokens, finishReason }))).toEqual(alone);
    expect(new Set(together.map((r) => r.text)).size).toBe(jobs.length); // the settings really differ
  });

  it('a row whose client left before the first step gets no token; the others are as alone', async () => {
    const source = seededSource(tokenizer.vocabSize, 12);
    const jobs: GenerationJob[] = [{ ids: [1, 300], sampling: SAMPLINGS[1] }, { ids: [1, 42], sampling: SAMPLINGS[3], cancelled: () => true }];
    const [kept, gone] = await generateRows(jobs, source, tokenizer);
    const [alone] = await generateRows(jobs.slice(0, 1), source, tokenizer);
    expect(gone).toMatchObject({ text: '', completionTokens: 0, finishReason: 'cancelled' });
    expect(kept).toMatchObject({ text: alone.text, completionTokens: alone.completionTokens, finishReason: alone.finishReason });
  });
});
