import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { MASK, PAD, targetSource, twoPassSource, withCandidatesAt, withDenoiseAt } from './fake-sources';
import { maskGitDecode, type MaskGitDecodeOptions } from './maskgit';
import { maskedCounts } from './schedule';

const V = 12;
/** A target row of `length` tokens in [2, V), never [MASK] or padding. */
const targetRow = (length: number, seed: number) => Array.from({ length }, (_, i) => 2 + ((i * 7 + seed * 3) % (V - 2)));
const greedy = { temperature: 0, choiceTemperature: 0 };

describe('maskGitDecode recovers a favoured target', () => {
  it.each([
    ['cosine', 10, 4],
    ['cosine', 16, 8],
    ['cosine', 3, 8],
    ['linear', 10, 10],
    ['linear', 7, 3],
    ['cosine', 1, 1],
  ] as const)('%s, L = %i, T = %i: masked counts follow the schedule', async (schedule, L, T) => {
    const target = targetRow(L, 1);
    const { source, calls } = targetSource([target], V, (i) => 0.3 + (0.6 * ((i * 5) % L)) / L);
    const { tokens, trace } = await maskGitDecode(source, { batch: 1, length: L, config: { ...greedy, steps: T, schedule }, trace: true });
    expect([...tokens[0]]).toEqual(target);
    expect(calls).toHaveLength(T);
    const counts = maskedCounts(schedule, T, L);
    expect(trace!.map((s) => s.maskedAfter[0])).toEqual(counts.slice(1));
    // What the model saw at step t: exactly counts[t] masks, the rest already the target.
    calls.forEach((call, t) => {
      expect(call.step).toBe(t);
      expect(call.steps).toBe(T);
      expect(call.tokens.filter((x) => x === MASK)).toHaveLength(counts[t]);
      expect(call.maskedFraction[0]).toBeCloseTo(counts[t] / L, 12);
      call.tokens.forEach((x, i) => x !== MASK && expect(x).toBe(target[i]));
    });
  });

  it('unmasks the most confident positions first', async () => {
    const confidence = [0.3, 0.9, 0.5, 0.8, 0.6];
    const { source } = targetSource([targetRow(5, 2)], V, (i) => confidence[i]);
    const run = (schedule: 'linear' | 'cosine', steps: number) =>
      maskGitDecode(source, { batch: 1, length: 5, config: { ...greedy, schedule, steps }, trace: true });
    // One per step: in order of confidence.
    expect((await run('linear', 5)).trace!.map((s) => s.revealed[0])).toEqual([[1], [3], [4], [2], [0]]);
    // Cosine, T = 3 on 5 tokens: masked 4, 2, 0, so 1, 2, 2 revealed.
    expect((await run('cosine', 3)).trace!.map((s) => s.revealed[0])).toEqual([[1], [3, 4], [2, 0]]);
  });

  it('breaks confidence ties by position', async () => {
    const { source } = targetSource([targetRow(4, 3)], V, () => 0.5);
    const { trace } = await maskGitDecode(source, { batch: 1, length: 4, config: { ...greedy, schedule: 'linear', steps: 2 }, trace: true });
    expect(trace!.map((s) => s.revealed[0])).toEqual([[0, 1], [2, 3]]);
  });

  it('never emits [MASK] or padding, even when they score highest', async () => {
    const { source } = targetSource([targetRow(6, 4)], V);
    const favoursSpecials = {
      ...source,
      async denoise(batch: Parameters<typeof source.denoise>[0]) {
        const logits = await source.denoise(batch);
        for (let k = 0; k < logits.length; k += V) logits[k + MASK] = logits[k + PAD] = 10;
        return logits;
      },
    };
    const { tokens } = await maskGitDecode(favoursSpecials, { batch: 1, length: 6, config: greedy });
    expect([...tokens[0]]).toEqual(targetRow(6, 4));
  });
});

describe('maskGitDecode with fixed tokens', () => {
  const L = 8;
  const target = targetRow(L, 5);
  // Fixed tokens differ from what the model favours there, so a re-masked one would change.
  const fixed = [MASK, 9, MASK, MASK, 4, 4, MASK, MASK];
  const free = [0, 2, 3, 6, 7];

  it.each([
    ['greedy', greedy],
    ['sampled', { temperature: 1, choiceTemperature: 4.5 }],
    ['guided', { temperature: 1.5, choiceTemperature: 2, guidanceScale: 2 }],
  ])('%s: fixed positions never change; the schedule counts the free ones', async (_, config) => {
    const { source, calls } = targetSource([target], V, (i) => 0.4 + 0.05 * i);
    const { tokens, trace } = await maskGitDecode(source, { batch: 1, length: L, fixed: [fixed], config: { ...config, steps: 4 }, rng: new Rng(7), trace: true });
    for (const call of calls) for (const i of [1, 4, 5]) expect(call.tokens[i]).toBe(fixed[i]);
    for (const step of trace!) {
      for (const i of [1, 4, 5]) expect(step.tokens[0][i]).toBe(fixed[i]);
      for (const i of step.revealed[0]) expect(free).toContain(i);
    }
    expect(trace!.map((s) => s.maskedAfter[0])).toEqual(maskedCounts('cosine', 4, free.length).slice(1));
    for (const i of [1, 4, 5]) expect(tokens[0][i]).toBe(fixed[i]);
    if (config === greedy) expect([...tokens[0]]).toEqual(fixed.map((t, i) => (t === MASK ? target[i] : t)));
    expect(tokens[0].every((t) => t !== MASK && t !== PAD)).toBe(true);
  });

  it('a fully fixed row comes back unchanged', async () => {
    const { source } = targetSource([target, target], V);
    const full = [3, 4, 5, 6, 7, 8, 9, 10];
    const { tokens } = await maskGitDecode(source, { batch: 2, length: L, fixed: [full, null], config: greedy });
    expect([...tokens[0]]).toEqual(full);
    expect([...tokens[1]]).toEqual(target);
  });
});

describe('maskGitDecode randomness', () => {
  // A flat model: every token is equally likely, so the output is all sampling.
  const flat = () => targetSource([targetRow(32, 0)], V, () => 1 / (V - 1)).source;
  const sample = (seed: number) =>
    maskGitDecode(flat(), { batch: 1, length: 32, config: { temperature: 1, choiceTemperature: 4.5 }, rng: new Rng(seed) });

  it('same seed, same output; another seed, another output', async () => {
    const a = (await sample(11)).tokens[0];
    expect((await sample(11)).tokens[0]).toEqual(a);
    // 32 tokens from 10 equally likely: a collision has probability 10^-32.
    expect((await sample(12)).tokens[0]).not.toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(1);
  });

  it('confidence noise changes the order of unmasking, not the argmax tokens', async () => {
    const target = targetRow(16, 6);
    const { source } = targetSource([target], V, (i) => 0.5 + 0.02 * i);
    const order = async (seed: number, choiceTemperature: number) => {
      const run = await maskGitDecode(source, { batch: 1, length: 16, config: { temperature: 0, choiceTemperature }, rng: new Rng(seed), trace: true });
      expect([...run.tokens[0]]).toEqual(target);
      return run.trace!.map((s) => s.revealed[0]);
    };
    const noiseless = await order(1, 0);
    expect(noiseless[0]).toEqual(noiseless.flat().slice(0, noiseless[0].length));
    expect(noiseless.flat()).toEqual(Array.from({ length: 16 }, (_, i) => 15 - i));
    expect(await order(1, 4.5)).toEqual(await order(1, 4.5));
    expect(await order(1, 4.5)).not.toEqual(noiseless);
  });
});

describe('maskGitDecode batches', () => {
  const lengths = [5, 9, 0, 3];
  const targets = lengths.map((n, b) => targetRow(n, b));
  const confidence = (i: number, b: number) => 0.3 + 0.07 * ((i * (b + 2)) % 9);

  it.each([
    ['greedy, one shared rng', greedy, false],
    ['sampled, one rng per row', { temperature: 1, choiceTemperature: 3, guidanceScale: 1.5 }, true],
  ] as const)('%s: each row equals its single-row run', async (_, config, perRow) => {
    const rngs = (rows: number[]) => (perRow ? rows.map((b) => Rng.derive(5, b)) : undefined);
    const { source, calls } = targetSource(targets, V, confidence);
    const options: MaskGitDecodeOptions = { lengths, config: { ...config, steps: 4 }, rng: rngs([0, 1, 2, 3]), trace: true };
    const batched = await maskGitDecode(source, options);
    expect(batched.tokens.map((t) => t.length)).toEqual(lengths);
    // Padding beyond each row's length, and the lengths, reach the model.
    for (const call of calls) {
      expect(call.length).toBe(9);
      expect([...call.lengths]).toEqual(lengths);
      lengths.forEach((n, b) => expect([...call.tokens.subarray(b * 9 + n, b * 9 + 9)].every((t) => t === PAD)).toBe(true));
    }
    for (let b = 0; b < lengths.length; b++) {
      const single = targetSource([targets[b]], V, (i) => confidence(i, b)).source;
      const alone = await maskGitDecode(single, { ...options, lengths: [lengths[b]], rng: rngs([b]) });
      expect(batched.tokens[b]).toEqual(alone.tokens[0]);
      expect(batched.trace!.map((s) => s.maskedAfter[b])).toEqual(alone.trace!.map((s) => s.maskedAfter[0]));
      if (!perRow) expect([...batched.tokens[b]]).toEqual(targets[b]);
    }
  });

  it('an empty batch makes no model call', async () => {
    const { source, calls } = targetSource([], V);
    expect((await maskGitDecode(source, { batch: 0, length: 4, config: greedy })).tokens).toEqual([]);
    expect(calls).toHaveLength(0);
  });
});

describe('maskGitDecode with a denoiseAt source', () => {
  it.each([
    ['greedy, unguided', { ...greedy, guidanceScale: 1 }],
    ['sampled, guided', { temperature: 1, choiceTemperature: 3, guidanceScale: 2.5 }],
    ['greedy, unconditional', { ...greedy, guidanceScale: 0 }],
  ])('%s: one call per step, only the masked positions, the same tokens as denoise()', async (_, config) => {
    const lengths = [5, 9, 3];
    const targets = lengths.map((n, b) => targetRow(n, b));
    const confidence = (i: number, b: number) => 0.3 + 0.07 * ((i * (b + 2)) % 9);
    const options: MaskGitDecodeOptions = { lengths, config: { ...config, steps: 4 }, rng: lengths.map((__, b) => Rng.derive(9, b)), trace: true };
    const plain = await maskGitDecode(targetSource(targets, V, confidence).source, options);
    const { source, atCalls } = withDenoiseAt(targetSource(targets, V, confidence).source);
    const fast = await maskGitDecode(source, { ...options, rng: lengths.map((__, b) => Rng.derive(9, b)) });
    expect(fast.tokens).toEqual(plain.tokens);
    expect(atCalls).toHaveLength(4);
    const passes = config.guidanceScale === 1 ? [true] : config.guidanceScale === 0 ? [false] : [true, false];
    atCalls.forEach((call, t) => {
      expect(call.passes).toEqual(passes);
      // Before step t: the positions the trace says were still masked, flat b · 9 + i.
      const before = t === 0 ? lengths.map((n) => Array.from({ length: n }, (__, i) => i)) : lengths.map((n, b) => [...plain.trace![t - 1].tokens[b]].flatMap((x, i) => (x === MASK ? [i] : [])));
      expect(call.positions).toEqual(before.flatMap((m, b) => m.map((i) => b * 9 + i)));
    });
  });

  it('guides with cond + w(cond - uncond) from the one call', async () => {
    const { source, atCalls } = withDenoiseAt(twoPassSource([0, 0, 1, 0.5], [0, 0, 2, 0]).source);
    const { tokens } = await maskGitDecode(source, { batch: 2, length: 3, config: { steps: 2, temperature: 0, choiceTemperature: 0, guidanceScale: 3 } });
    expect(tokens).toEqual([new Int32Array(3).fill(3), new Int32Array(3).fill(3)]);
    expect(atCalls).toHaveLength(2);
  });

  it('rejects a denoiseAt result of the wrong shape, naming the pass', async () => {
    const { source } = withDenoiseAt(targetSource([targetRow(4, 0)], V).source);
    const bad = { ...source, denoiseAt: async () => [new Float32Array(5)] };
    await expect(maskGitDecode(bad, { batch: 1, length: 4, config: greedy })).rejects.toThrow(
      'maskGitDecode: source.denoiseAt (pass 0, conditional: true) must return a Float32Array of N × V = 4 × 12 = 48 logits, got length 5',
    );
    const few = { ...source, denoiseAt: async () => [] };
    await expect(maskGitDecode(few, { batch: 1, length: 4, config: { ...greedy, guidanceScale: 2 } })).rejects.toThrow('maskGitDecode: source.denoiseAt must return one array per pass (2)');
  });
});

describe('maskGitDecode with a candidatesAt source', () => {
  const lengths = [5, 9, 3];
  const targets = lengths.map((n, b) => targetRow(n, b));
  const confidence = (i: number, b: number) => 0.3 + 0.07 * ((i * (b + 2)) % 9);

  it.each([1, 0, 2.5])('argmax at guidance scale %s: one call per step with the scale, the same tokens and order as the logits path', async (guidanceScale) => {
    const options: MaskGitDecodeOptions = { lengths, config: { ...greedy, steps: 4, guidanceScale }, trace: true };
    const plain = await maskGitDecode(targetSource(targets, V, confidence).source, options);
    const { source, calls } = withCandidatesAt(targetSource(targets, V, confidence).source);
    const fast = await maskGitDecode(source, options);
    expect(fast.tokens).toEqual(plain.tokens);
    expect(fast.trace!.map((s) => s.revealed)).toEqual(plain.trace!.map((s) => s.revealed));
    expect(calls.map((c) => c.guidanceScale)).toEqual([guidanceScale, guidanceScale, guidanceScale, guidanceScale]);
    expect(calls[0].positions).toEqual(lengths.flatMap((n, b) => Array.from({ length: n }, (_, i) => b * 9 + i)));
  });

  it('the confidence noise still applies to its candidates; sampling (temperature > 0) takes the logits instead', async () => {
    const noisy: MaskGitDecodeOptions = { lengths, config: { temperature: 0, choiceTemperature: 3, steps: 4, guidanceScale: 2 }, rng: lengths.map((_, b) => Rng.derive(4, b)) };
    const plain = await maskGitDecode(targetSource(targets, V, confidence).source, noisy);
    const fast = withCandidatesAt(targetSource(targets, V, confidence).source);
    expect((await maskGitDecode(fast.source, { ...noisy, rng: lengths.map((_, b) => Rng.derive(4, b)) })).tokens).toEqual(plain.tokens);
    const sampled = withCandidatesAt(targetSource(targets, V, confidence).source);
    await maskGitDecode(sampled.source, { ...noisy, config: { ...noisy.config, temperature: 1 }, rng: lengths.map((_, b) => Rng.derive(4, b)) });
    expect(sampled.calls).toHaveLength(0);
  });

  it.each([
    ['too few tokens', { tokens: new Int32Array(3), logProbs: new Float32Array(4) }, 'must return tokens as an Int32Array of 4'],
    ['[MASK] as a candidate', { tokens: Int32Array.from([2, MASK, 3, 4]), logProbs: new Float32Array(4) }, 'candidate 1 is token 1, not one the decoder may emit'],
    ['a token past the vocabulary', { tokens: Int32Array.from([2, 3, V, 4]), logProbs: new Float32Array(4) }, `candidate 2 is token ${V}`],
    ['a NaN log-probability', { tokens: Int32Array.from([2, 3, 4, 5]), logProbs: Float32Array.from([0, NaN, 0, 0]) }, 'candidate 1 has log-probability NaN'],
    ['a positive log-probability', { tokens: Int32Array.from([2, 3, 4, 5]), logProbs: Float32Array.from([0, 0, 0, 0.5]) }, 'candidate 3 has log-probability 0.5'],
  ])('rejects a candidatesAt result with %s', async (_, result, message) => {
    const { source } = withCandidatesAt(targetSource([targetRow(4, 0)], V).source);
    const bad = { ...source, candidatesAt: async () => result };
    await expect(maskGitDecode(bad, { batch: 1, length: 4, config: greedy })).rejects.toThrow(`maskGitDecode: source.candidatesAt (step 0)`);
    await expect(maskGitDecode(bad, { batch: 1, length: 4, config: greedy })).rejects.toThrow(message);
  });
});

describe('maskGitDecode validation', () => {
  const { source } = targetSource([targetRow(4, 0), targetRow(4, 1)], V);
  const ok: MaskGitDecodeOptions = { batch: 2, length: 4, config: greedy };
  it.each([
    [{ ...ok, config: { steps: 0 } }, 'maskGitDecode: steps must be an integer >= 1, got 0'],
    [{ ...ok, config: { guidanceScale: -2 } }, 'maskGitDecode: guidanceScale must be a finite number >= 0, got -2'],
    [{ ...ok, config: { temperature: -1 } }, 'maskGitDecode: temperature must be a finite number >= 0, got -1'],
    [{ ...ok, config: { ...greedy, temprature: 0 } }, 'maskGitDecode: unknown config key "temprature"'],
    [{ ...ok, config: { temperature: 0 } }, 'maskGitDecode: rng is required when temperature > 0 or choiceTemperature > 0'],
    [{ ...ok, rng: [new Rng(1)] }, 'maskGitDecode: rng has 1 entries, expected one per row (2)'],
    [{ ...ok, rng: { next: () => 0 } }, 'maskGitDecode: rng must have a float() method'],
    [{ ...ok, batch: -1 }, 'maskGitDecode: batch must be an integer >= 0, got -1'],
    [{ ...ok, length: undefined }, 'maskGitDecode: length must be an integer >= 0 (or give lengths), got undefined'],
    [{ ...ok, lengths: [4, 4] }, 'maskGitDecode: give length or lengths, not both'],
    [{ config: greedy, lengths: [4, 2.5] }, 'maskGitDecode: lengths[1] must be an integer >= 0, got 2.5'],
    [{ config: greedy, batch: 3, lengths: [4, 4] }, 'maskGitDecode: batch is 3 but lengths has 2 entries'],
    [{ ...ok, fixed: [null] }, 'maskGitDecode: fixed must be an array with one entry per row (2)'],
    [{ ...ok, fixed: [null, [2, 3]] }, 'maskGitDecode: fixed[1] has 2 tokens, expected the row\'s length 4'],
    [{ ...ok, fixed: [null, [2, 3, 12, 1]] }, 'maskGitDecode: fixed[1][2] must be an integer in [0, 12), got 12'],
  ])('rejects options %#', async (options, message) => {
    await expect(maskGitDecode(source, options as MaskGitDecodeOptions)).rejects.toThrow(message);
  });

  it.each([
    [{ maskId: 12 }, 'maskGitDecode: source.maskId must be an integer in [0, 12), got 12'],
    [{ padId: -1 }, 'maskGitDecode: source.padId must be an integer in [0, 12), got -1'],
    [{ vocabSize: 0 }, 'maskGitDecode: source.vocabSize must be an integer >= 1, got 0'],
    [{ denoise: undefined }, 'maskGitDecode: source must have a denoise() method'],
    [{ denoise: async () => new Float32Array(5) }, 'maskGitDecode: source.denoise (conditional: true) must return a Float32Array of B × L × V = 2 × 4 × 12 = 96 logits, got length 5'],
    [{ denoise: async () => new Float32Array(96).fill(NaN) }, 'maskGitDecode: logits at row 0, position 0, step 0, token 2 must be finite or -Infinity, got NaN'],
    [{ denoise: async () => new Float32Array(96).fill(-Infinity) }, 'maskGitDecode: logits at row 0, position 0, step 0 give no token but [MASK] and padding a finite score'],
  ])('rejects a bad source %#', async (override, message) => {
    await expect(maskGitDecode({ ...source, ...override } as never, ok)).rejects.toThrow(message);
  });
});
