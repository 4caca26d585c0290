import { describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import type { DenoiserBatch, DenoiserLogitsSource } from '@proj/sampling';
import { parseSgddConfig } from './config';
import { sampleSgdd, sgddGuidanceToMaskGitScale } from './sample';
import { TINY_SGDD } from './testing';

const config = parseSgddConfig(TINY_SGDD);
const V = config.vocab_size;

/** A source whose conditional pass prefers token `cond`, unconditional `uncond`, everywhere; records its calls. */
function twoPass(condScores: number[], uncondScores: number[]) {
  const calls: boolean[] = [];
  const source: DenoiserLogitsSource & { config: typeof config } = {
    config,
    vocabSize: V,
    maskId: config.mask_token_id,
    padId: config.pad_token_id,
    async denoise(batch: DenoiserBatch) {
      calls.push(batch.conditional);
      const scores = batch.conditional ? condScores : uncondScores;
      const out = new Float32Array(batch.batch * batch.length * V);
      for (let p = 0; p < batch.batch * batch.length; p++) out.set(scores, p * V);
      return out;
    },
  };
  return { source, calls };
}

describe('SGDD guidance convention', () => {
  it.each([
    [0, 1],
    [1, 2],
    [2, 3],
    [3, 4],
  ])('w = %d (cond + w(cond - uncond)) is maskGitDecode scale %d (uncond + s(cond - uncond))', (w, s) => {
    expect(sgddGuidanceToMaskGitScale(w)).toBe(s);
    // The two formulas agree on numbers.
    const [cond, uncond] = [0.7, -1.3];
    expect(uncond + s * (cond - uncond)).toBeCloseTo(cond + w * (cond - uncond), 12);
  });

  it('refuses a negative or non-finite w, naming it', () => {
    expect(() => sgddGuidanceToMaskGitScale(-1)).toThrow(/guidance must be a finite number >= 0, got -1/);
    expect(() => sgddGuidanceToMaskGitScale(Number.NaN)).toThrow(/got NaN/);
  });

  it('w = 0 runs the conditional pass alone; w = 2 runs both and follows cond + 2(cond - uncond)', async () => {
    // Token 5 wins conditionally (2 vs 1); token 6 gains most from guidance: cond 1.8, uncond 0.2
    // -> guided 1.8 + 2 * 1.6 = 5.0 against token 5's 2 + 2 * (2 - 1.9) = 2.2.
    const cond = new Array<number>(V).fill(0);
    const uncond = new Array<number>(V).fill(0);
    [cond[5], uncond[5], cond[6], uncond[6]] = [2, 1.9, 1.8, 0.2];
    const plain = twoPass(cond, uncond);
    const r0 = await sampleSgdd(plain.source, [4], { guidance: 0, steps: 2 });
    expect([...r0.tokens[0]]).toEqual([config.cls_token_id, 5, 5, config.sep_token_id]);
    expect(plain.calls.every((c) => c)).toBe(true);
    const guided = twoPass(cond, uncond);
    const r2 = await sampleSgdd(guided.source, [4], { guidance: 2, steps: 2 });
    expect([...r2.tokens[0]]).toEqual([config.cls_token_id, 6, 6, config.sep_token_id]);
    expect(guided.calls).toEqual([true, false, true, false]);
    expect(r2.config.guidanceScale).toBe(3);
  });

  it('keeps [CLS] and [SEP] at the ends, checks lengths, and repeats with the same seed', async () => {
    const scores = Array.from({ length: V }, (_, v) => (v < 4 ? -5 : Math.sin(v)));
    const { source } = twoPass(scores, scores);
    const run = (seed: number) => sampleSgdd(source, [5, 3], { temperature: 1, choiceTemperature: 2, rng: [new Rng(seed), new Rng(seed + 1)] });
    const [a, b] = [await run(7), await run(7)];
    expect(a.tokens.map((t) => [...t])).toEqual(b.tokens.map((t) => [...t]));
    for (const row of a.tokens) expect([row[0], row[row.length - 1]]).toEqual([config.cls_token_id, config.sep_token_id]);
    await expect(sampleSgdd(source, [1])).rejects.toThrow(/lengths\[0\] must be an integer in \[2, 12\]/);
    await expect(sampleSgdd(source, [13])).rejects.toThrow(/got 13/);
  });
});
