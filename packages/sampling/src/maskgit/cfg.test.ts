import { describe, expect, it } from 'vitest';
import { denoisePasses, denoiseWithGuidance, guidancePasses, guidedLogits } from './cfg';
import { MASK, PAD, targetSource, twoPassSource, withDenoiseAt } from './fake-sources';
import { maskGitDecode } from './maskgit';

const close = (actual: ArrayLike<number>, expected: readonly number[]) => {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((x, i) => (Number.isFinite(x) ? expect(actual[i]).toBeCloseTo(x, 6) : expect(actual[i]).toBe(x)));
};

describe('guidedLogits', () => {
  const cond = [2, 0, -1];
  const uncond = [1, 1, 1];
  it.each([
    [0, [1, 1, 1]], // unconditional
    [1, [2, 0, -1]], // conditional
    [0.5, [1.5, 0.5, 0]], // halfway
    [2, [3, -1, -3]], // 1 + 2·(2 − 1), 1 + 2·(0 − 1), 1 + 2·(−1 − 1)
    [3.5, [4.5, -2.5, -6]],
  ])('w = %f', (w, expected) => {
    close(guidedLogits(cond, uncond, w), expected);
  });

  it('keeps -Infinity from either pass', () => {
    close(guidedLogits([-Infinity, 1, -Infinity], [0, -Infinity, -Infinity], 3), [-Infinity, -Infinity, -Infinity]);
    close(guidedLogits([-Infinity, 1], [0, 2], 0.5), [-Infinity, 1.5]);
  });

  it.each([
    [() => guidedLogits([1, NaN], [0, 0], 2), 'guidedLogits: logits[1] must be finite or -Infinity, got conditional NaN, unconditional 0'],
    [() => guidedLogits([1], [Infinity], 2), 'guidedLogits: logits[0] must be finite or -Infinity, got conditional 1, unconditional Infinity'],
    [() => guidedLogits([1, 2], [0], 2), 'guidedLogits: conditional and unconditional logits differ in length (2 vs 1)'],
    [() => guidedLogits([1], [0], NaN), 'guidedLogits: guidanceScale must be finite, got NaN'],
  ])('rejects bad input (%#)', (call, message) => {
    expect(call).toThrow(message);
  });
});

describe('denoiseWithGuidance', () => {
  const batch = { batch: 1, length: 2, tokens: Int32Array.of(MASK, MASK), lengths: Int32Array.of(2), step: 0, steps: 4, maskedFraction: Float64Array.of(1) };
  // vocab: PAD, MASK, a, b
  const cond = [0, 0, 2, 1];
  const uncond = [0, 0, 1, 3];

  it.each([
    [1, [true], cond],
    [0, [false], uncond],
    [2, [true, false], [0, 0, 3, -1]],
  ] as const)('w = %f calls the source with conditional = %j', async (w, passes, row) => {
    const { source, calls } = twoPassSource(cond, uncond);
    const logits = await denoiseWithGuidance(source, batch, w);
    expect(calls.map((c) => c.conditional)).toEqual(passes);
    close(logits, [...row, ...row]);
    expect(guidancePasses(w)).toEqual({ conditional: passes.includes(true as never), unconditional: passes.includes(false as never) });
  });

  it('with positions: [N, V] rows gathered from denoise(), or from one denoiseAt() call', async () => {
    const rows = { ...batch, batch: 2, tokens: Int32Array.of(MASK, 2, MASK, MASK), lengths: Int32Array.of(2, 2), maskedFraction: Float64Array.of(0.5, 1) };
    const target = { source: targetSource([[2, 3], [3, 2]], 4).source };
    const full = await denoiseWithGuidance(target.source, rows, 2);
    const positions = Int32Array.of(0, 2, 3);
    const expected = [...positions].flatMap((p) => [...full.subarray(p * 4, p * 4 + 4)]);
    close(await denoiseWithGuidance(target.source, rows, 2, 'f', positions), expected);
    const { source, atCalls } = withDenoiseAt(target.source);
    close(await denoiseWithGuidance(source, rows, 2, 'f', positions), expected);
    expect(atCalls).toEqual([{ positions: [0, 2, 3], passes: [true, false] }]);
    await expect(denoiseWithGuidance(source, rows, 2, 'f', Int32Array.of(4))).rejects.toThrow('f: positions[0] must be in [0, B × L = 4), got 4');
  });

  it('denoisePasses returns the passes uncombined; guidedLogits can write into a given row', async () => {
    const { source } = twoPassSource(cond, uncond);
    const { passes, logits } = await denoisePasses(source, batch, 2, 'f', Int32Array.of(1));
    expect(passes).toEqual([true, false]);
    close(logits[0], cond);
    close(logits[1], uncond);
    const row = new Float32Array(4);
    expect(guidedLogits(logits[0], logits[1], 2, 'f', row)).toBe(row);
    close(row, [0, 0, 3, -1]);
    expect(() => guidedLogits(cond, uncond, 2, 'f', new Float32Array(3))).toThrow('f: out has length 3, the logits 4');
  });

  it('rejects logits of the wrong size', async () => {
    const { source } = twoPassSource(cond, uncond);
    const short = { ...source, denoise: async () => new Float32Array(7) };
    await expect(denoiseWithGuidance(short, batch, 2, 'maskGitDecode')).rejects.toThrow(
      'maskGitDecode: source.denoise (conditional: true) must return a Float32Array of B × L × V = 1 × 2 × 4 = 8 logits, got length 7',
    );
    const array = { ...source, denoise: async () => [1, 2] as never };
    await expect(denoiseWithGuidance(array, batch, 1)).rejects.toThrow('got 1,2');
  });
});

describe('maskGitDecode with guidance', () => {
  // vocab: PAD, MASK, a (2), b (3). The condition raises b relative to a by 1.5 (cond − uncond: a −1, b +0.5).
  const cond = [0, 0, 1, 0.5];
  const uncond = [0, 0, 2, 0];
  const config = { steps: 4, temperature: 0, choiceTemperature: 0 };

  it.each([
    [0, 4, 2], // unconditional: a
    [1, 4, 2], // conditional: a (1 > 0.5)
    [3, 8, 3], // guided: a → 2 + 3·(1 − 2) = −1, b → 0 + 3·0.5 = 1.5, so b
  ])('w = %f: %i model calls, every token is %i', async (guidanceScale, expectedCalls, token) => {
    const { source, calls } = twoPassSource(cond, uncond);
    const { tokens } = await maskGitDecode(source, { batch: 2, length: 5, config: { ...config, guidanceScale } });
    expect(calls).toHaveLength(expectedCalls);
    expect(tokens).toEqual([new Int32Array(5).fill(token), new Int32Array(5).fill(token)]);
    // Every step sees the same tokens in both passes.
    for (let k = 1; k < calls.length && expectedCalls === 8; k += 2) expect(calls[k].tokens).toEqual(calls[k - 1].tokens);
    expect(calls.every((c) => c.tokens.every((t) => t !== PAD))).toBe(true);
  });
});
