import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { fakeSource, historyModel } from './fake-sources';
import { generate, type TokenEvent } from './generate';
import { streamGeneratePerRow, type PerRowGenerationConfig, type RowSampler } from './generate-per-row';
import type { SamplingControls } from './generation-config';
import { processLogits } from './logits-processors';
import { pickToken } from './pick-token';
import { greedyToken, sampleToken } from './sampler';

const V = 40;
const EOS = 39;
// Wide random logits: sampled rows differ by seed, and some rows reach EOS before maxNewTokens.
const model = historyModel(V, 3, 0.1);

async function drain(stream: AsyncGenerator<TokenEvent, number[][]>): Promise<{ tokens: number[][]; events: TokenEvent[] }> {
  const events: TokenEvent[] = [];
  for (;;) {
    const next = await stream.next();
    if (next.done) return { tokens: next.value, events };
    events.push(next.value);
  }
}

const CONTROLS: Partial<SamplingControls>[] = [
  {}, // greedy
  { doSample: true },
  { doSample: true, temperature: 0.7, topK: 5 },
  { doSample: true, temperature: 1.3, topP: 0.8, minP: 0.05 },
  { doSample: true, topK: 12, topP: 0.9, repetitionPenalty: 1.5, noRepeatNgramSize: 2 },
  { repetitionPenalty: 2, noRepeatNgramSize: 1 }, // greedy with penalties
];
const PROMPTS = [[0], [1, 2], [0], [5, 6, 7], [1, 2], [0, 8]];
const SEEDS = [0, 11, 12, 13, 14, 15];
const CONFIG: PerRowGenerationConfig = { maxNewTokens: 20, eosTokenId: EOS, padTokenId: 0 };

const samplers = (seeds = SEEDS, controls = CONTROLS): RowSampler[] => controls.map((c, b) => ({ controls: c, rng: new Rng(seeds[b]) }));

describe('pickToken', () => {
  it('is processLogits on a copy, then greedyToken or one sampleToken draw; the logits are left as they were', () => {
    const rng = new Rng(1);
    for (let trial = 0; trial < 100; trial++) {
      const logits = Float32Array.from({ length: V }, () => (rng.float() - 0.5) * 8);
      const before = logits.slice();
      const tokens = Array.from({ length: 1 + rng.int(10) }, () => rng.int(V));
      const controls: SamplingControls = { doSample: trial % 3 !== 0, temperature: 0.5 + rng.float(), topK: rng.int(V), topP: 0.2 + 0.8 * rng.float(), minP: 0.1 * rng.float(), repetitionPenalty: 1 + rng.float(), noRepeatNgramSize: rng.int(3) };
      const row = processLogits(logits.slice(), tokens, controls);
      const expected = controls.doSample ? sampleToken(row, new Rng(trial)) : greedyToken(row);
      expect(pickToken(logits, tokens, controls, new Rng(trial))).toBe(expected);
      expect(logits).toEqual(before);
    }
  });

  it('sampling without an rng is an error naming the caller', () => {
    expect(() => pickToken(new Float32Array(3), [0], { ...CONTROLS[0], doSample: true } as SamplingControls, undefined, 'serve')).toThrow('serve: doSample is true but no rng was given');
  });
});

describe('streamGeneratePerRow', () => {
  it.each([false, true])('row b gets what generate gives prompts[b] alone with rows[b]’s controls and seed (cache: %s)', async (cache) => {
    const { tokens } = await drain(streamGeneratePerRow(PROMPTS, fakeSource(model, V, { cache }).source, samplers(), CONFIG));
    const alone = await Promise.all(PROMPTS.map(async (prompt, b) => (await generate([prompt], fakeSource(model, V, { cache }).source, { ...CONTROLS[b], ...CONFIG }, { rng: new Rng(SEEDS[b]) }))[0]));
    expect(tokens).toEqual(alone);
    expect(tokens.some((t) => t.at(-1) === EOS && t.length < CONFIG.maxNewTokens)).toBe(true); // a row stopped early
    expect(new Set(tokens.map((t) => t.join())).size).toBe(PROMPTS.length); // the controls really differ
  });

  it('rows are independent: another seed or other controls for one row change none of the others', async () => {
    const { tokens } = await drain(streamGeneratePerRow(PROMPTS, fakeSource(model, V, { cache: true }).source, samplers(), CONFIG));
    for (const b of [1, 3]) {
      const seeds = SEEDS.map((s, i) => (i === b ? s + 100 : s));
      const controls = CONTROLS.map((c, i) => (i === b ? { doSample: true, temperature: 2 } : c));
      for (const rows of [samplers(seeds), samplers(SEEDS, controls)]) {
        const { tokens: changed } = await drain(streamGeneratePerRow(PROMPTS, fakeSource(model, V, { cache: true }).source, rows, CONFIG));
        expect(changed[b]).not.toEqual(tokens[b]);
        expect(changed.filter((_, i) => i !== b)).toEqual(tokens.filter((_, i) => i !== b));
      }
    }
    // Reversing the batch reverses the answers.
    const reversed = await drain(streamGeneratePerRow([...PROMPTS].reverse(), fakeSource(model, V, { cache: false }).source, samplers().reverse(), CONFIG));
    expect(reversed.tokens).toEqual([...tokens].reverse());
  });

  it('a row that says it stopped is given EOS at that step; with no EOS id, its raw argmax', async () => {
    let picks = 0;
    const rows = samplers();
    rows[2] = { ...rows[2], stopped: () => ++picks > 3 };
    const { tokens, events } = await drain(streamGeneratePerRow(PROMPTS, fakeSource(model, V, { cache: true }).source, rows, CONFIG));
    const { tokens: free } = await drain(streamGeneratePerRow(PROMPTS, fakeSource(model, V, { cache: true }).source, samplers(), CONFIG));
    expect(tokens[2]).toEqual([...free[2].slice(0, 3), EOS]);
    expect(picks).toBe(4); // not asked again once the loop has stopped the row
    expect(tokens.filter((_, i) => i !== 2)).toEqual(free.filter((_, i) => i !== 2));
    expect(events.filter((e) => e.row === 2).map((e) => e.token)).toEqual(tokens[2]);

    const noEos = { maxNewTokens: 4 };
    const stoppedNoEos: RowSampler[] = [{ controls: { doSample: true }, rng: new Rng(1), stopped: () => true }];
    const { tokens: argmax } = await drain(streamGeneratePerRow([[0]], fakeSource(model, V, { cache: true }).source, stoppedNoEos, noEos));
    expect(argmax[0][0]).toBe(greedyToken(model([0])));
    expect(argmax[0]).toHaveLength(4);
  });

  it('rejects a row count other than the prompts’, sampling rows without an rng, bad or misplaced settings', async () => {
    const source = fakeSource(model, V, { cache: true }).source;
    const run = (rows: RowSampler[], config: object = CONFIG, prompts = [[0]]) => drain(streamGeneratePerRow(prompts, source, rows, config as PerRowGenerationConfig));
    await expect(run([])).rejects.toThrow('streamGeneratePerRow: rows must hold one RowSampler per prompt (1 prompts), got 0');
    await expect(run([{ controls: { doSample: true } }])).rejects.toThrow('streamGeneratePerRow: rows[0] samples (doSample) but has no rng');
    await expect(run([{ controls: { topP: 1.5 } }])).rejects.toThrow('streamGeneratePerRow: rows[0].controls: topP must be in [0, 1], got 1.5');
    await expect(run([{ controls: { topp: 0.5 } as Partial<SamplingControls> }])).rejects.toThrow('streamGeneratePerRow: rows[0].controls: unknown key "topp"');
    await expect(run([{ controls: { maxNewTokens: 3 } as Partial<SamplingControls> }])).rejects.toThrow('unknown key "maxNewTokens"');
    await expect(run([{ controls: {} }], { ...CONFIG, topK: 3 })).rejects.toThrow('streamGeneratePerRow: config may set maxNewTokens, eosTokenId, padTokenId only; "topK" goes in rows[b].controls');
    const short = { vocabSize: V, next: async () => ({ logits: new Float32Array(V - 1) }) };
    await expect(drain(streamGeneratePerRow([[0]], short, [{ controls: {} }], CONFIG))).rejects.toThrow(`streamGeneratePerRow: source.next must return a Float32Array of 1 rows × ${V} logits = ${V}, got ${V - 1} logits (step 0)`);
  });
});
