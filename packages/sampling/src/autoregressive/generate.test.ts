import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { bigramModel, fakeSource, historyModel } from './fake-sources';
import { generate, streamGenerate, type TokenEvent } from './generate';
import type { CausalLogitsSource } from './logits-source';

// Bigram logits: the argmax after 0 is 1, after 1 is 2, after 2 is 3, after 3 is 4 (EOS), after 4 is 0.
const TABLE = [
  [0, 2, 1, -1, 0.5],
  [0.3, 0, 2.5, 1, -2],
  [1, 1, 0, 3, 2.9],
  [0, 0.5, 0, 1, 1.5],
  [2, 0, 0, 0, 0],
];
const bigram = (cache = false) => fakeSource(bigramModel(TABLE), 5, { cache });

/** A sharp random bigram table over V tokens: greedy or sampled runs soon revisit n-grams. */
function randomBigram(V: number, seed: number) {
  const rng = new Rng(seed);
  return Array.from({ length: V }, () => Array.from({ length: V }, () => 3 * rng.float()));
}

function ngramsRepeat(tokens: readonly number[], n: number, from: number): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join(',');
    if (i + n > from && seen.has(key)) return true; // an n-gram ending in a generated position repeats
    seen.add(key);
  }
  return false;
}

describe('generate: greedy', () => {
  it.each([
    [[[0]], {}, [[1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0]]], // default 20 tokens, no EOS
    [[[0]], { maxNewTokens: 6 }, [[1, 2, 3, 4, 0, 1]]],
    [[[0]], { eosTokenId: 4 }, [[1, 2, 3, 4]]], // EOS kept
    [[[3, 1]], { eosTokenId: [3, 4] }, [[2, 3]]], // any of several EOS ids
    [[[0], [2, 2]], { maxNewTokens: 0 }, [[], []]],
    [[], {}, []],
  ])('prompts %j with %j → %j', async (prompts, config, expected) => {
    const { source, calls } = bigram();
    expect(await generate(prompts, source, config)).toEqual(expected);
    expect(calls.length).toBe(Math.max(0, ...expected.map((r) => r.length)));
  });

  it('stops a row at EOS while the others continue, feeding the stopped row pad', async () => {
    const { source, calls } = bigram(true);
    const out = await generate([[2], [0], [4]], source, { eosTokenId: 4, padTokenId: 0, maxNewTokens: 10 });
    expect(out).toEqual([[3, 4], [1, 2, 3, 4], [0, 1, 2, 3, 4]]);
    expect(calls.map((c) => c.tokens)).toEqual([
      [[2], [0], [4]],
      [[3], [1], [0]],
      [[4], [2], [1]],
      [[0], [3], [2]], // row 0 stopped: pad
      [[0], [4], [3]], // row 1 stopped too; no call after the last row stops
    ]);
  });

  it('pads with the first EOS id when padTokenId is null', async () => {
    const { source, calls } = bigram(true);
    expect(await generate([[3], [0]], source, { eosTokenId: [4, 3] })).toEqual([[4], [1, 2, 3]]);
    expect(calls.map((c) => c.tokens[0][0])).toEqual([3, 4, 4]);
  });

  it('repetition penalty counts the prompt: a penalised argmax moves to the runner-up', async () => {
    // after 2 the logits are [1, 1, 0, 3, 2.9]: 3 wins, but with 3 in the prompt 3 / 1.2 = 2.5 < 2.9
    const { source } = bigram();
    expect(await generate([[3, 2]], source, { maxNewTokens: 1 })).toEqual([[3]]);
    expect(await generate([[3, 2]], source, { maxNewTokens: 1, repetitionPenalty: 1.2 })).toEqual([[4]]);
  });
});

describe('generate: sampling', () => {
  const V = 12;
  const prompts = [[1], [5, 2, 7], [0, 0]];
  const history = (cache = false) => fakeSource(historyModel(V, 11), V, { cache });
  const greedy = async () => generate(prompts, history().source, { maxNewTokens: 15 });
  const sampled = async (seed: number, config = {}) =>
    generate(prompts, history().source, { maxNewTokens: 15, doSample: true, ...config }, { rng: new Rng(seed) });

  it('same seed → same tokens; different seeds → different tokens', async () => {
    expect(await sampled(1)).toEqual(await sampled(1));
    expect(await sampled(1)).not.toEqual(await sampled(2));
  });

  it('top-k = 1 equals greedy whatever the rng and temperature; top-k = 2 does not', async () => {
    const expected = await greedy();
    let differs = 0;
    for (let seed = 0; seed < 8; seed++) {
      expect(await sampled(seed, { topK: 1, temperature: 3 })).toEqual(expected);
      if (JSON.stringify(await sampled(seed, { topK: 2, temperature: 3 })) !== JSON.stringify(expected)) differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });

  it('temperature → 0 equals greedy; temperature 1 does not', async () => {
    // the fake logits are 0, 0.5, 1, … apart, so at T = 0.01 the runner-up has probability ≤ e^-50
    const expected = await greedy();
    let differs = 0;
    for (let seed = 0; seed < 8; seed++) {
      expect(await sampled(seed, { temperature: 0.01 })).toEqual(expected);
      if (JSON.stringify(await sampled(seed)) !== JSON.stringify(expected)) differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });

  it('no-repeat n-gram never repeats an n-gram (seeded property), which happens without it', async () => {
    let repeatsWithout = 0;
    for (let seed = 0; seed < 40; seed++) {
      const Vn = 16;
      const n = 2 + (seed % 2);
      const rng = new Rng(1000 + seed);
      const prompt = Array.from({ length: 1 + (seed % 4) }, () => Math.floor(rng.float() * Vn));
      const table = randomBigram(Vn, seed);
      const source = () => fakeSource(bigramModel(table), Vn, { cache: seed % 2 === 0 }).source;
      const config = { maxNewTokens: 30, doSample: seed % 3 !== 0 };
      const [banned] = await generate([prompt], source(), { ...config, noRepeatNgramSize: n }, { rng: new Rng(seed) });
      expect(banned.length).toBe(30);
      expect(ngramsRepeat([...prompt, ...banned], n, prompt.length)).toBe(false);
      const [free] = await generate([prompt], source(), config, { rng: new Rng(seed) });
      if (ngramsRepeat([...prompt, ...free], n, prompt.length)) repeatsWithout++;
    }
    expect(repeatsWithout).toBeGreaterThanOrEqual(20); // the control: the property is not vacuous
  });

  it('cache and no-cache sources give identical outputs; the cached one gets only new tokens', async () => {
    const config = { maxNewTokens: 12, eosTokenId: 3, repetitionPenalty: 1.3, noRepeatNgramSize: 2 };
    for (const extra of [{}, { doSample: true, topP: 0.9 }]) {
      const plain = history(false);
      const cached = history(true);
      const a = await generate(prompts, plain.source, { ...config, ...extra }, { rng: new Rng(5) });
      const b = await generate(prompts, cached.source, { ...config, ...extra }, { rng: new Rng(5) });
      expect(b).toEqual(a);
      expect(new Set(a.map((r) => r.length)).size).toBeGreaterThan(1); // rows stop at different steps
      // the source without a cache is re-sent each full sequence (prompt + generated + pads)
      plain.calls.forEach((call, step) => call.tokens.forEach((t, row) => expect(t.length).toBe(prompts[row].length + step)));
      plain.calls.at(-1)!.tokens.forEach((t, row) => expect(t.slice(0, prompts[row].length + a[row].length)).toEqual([...prompts[row], ...a[row]].slice(0, t.length)));
      // the cached one: full prompts first, then one token per row (fakeSource throws otherwise)
      expect(cached.calls[0].tokens).toEqual(prompts);
      expect(cached.calls.slice(1).every((c) => c.tokens.every((t) => t.length === 1) && c.cache !== undefined)).toBe(true);
      expect(cached.calls.length).toBe(plain.calls.length);
    }
  });
});

describe('streamGenerate', () => {
  it('yields events that rebuild the batch result, in step then row order, and calls onToken with each', async () => {
    const V = 10;
    const prompts = [[1, 2], [3], [9, 9, 9]];
    const config = { maxNewTokens: 9, doSample: true, eosTokenId: 0 };
    const expected = await generate(prompts, fakeSource(historyModel(V, 3), V, { cache: true }).source, config, { rng: new Rng(9) });
    const events: TokenEvent[] = [];
    const seen: TokenEvent[] = [];
    const stream = streamGenerate(prompts, fakeSource(historyModel(V, 3), V, { cache: true }).source, config, {
      rng: new Rng(9),
      onToken: (e) => seen.push(e),
    });
    let result: number[][] | undefined;
    for (;;) {
      const next = await stream.next();
      if (next.done) {
        result = next.value;
        break;
      }
      events.push(next.value);
    }
    expect(result).toEqual(expected);
    expect(seen).toEqual(events);
    const rebuilt: number[][] = prompts.map(() => []);
    for (const { row, token, step } of events) {
      expect(step).toBe(rebuilt[row].length);
      rebuilt[row].push(token);
    }
    expect(rebuilt).toEqual(expected);
    const order = events.map((e) => e.step * 10 + e.row);
    expect(order).toEqual([...order].sort((x, y) => x - y));
  });

  it('stops calling the model when the consumer stops', async () => {
    const { source, calls } = bigram();
    for await (const event of streamGenerate([[0], [1]], source, { maxNewTokens: 50 })) {
      expect(event).toEqual({ row: 0, token: 1, step: 0 });
      break;
    }
    expect(calls.length).toBe(1);
  });
});

describe('generate: errors name the function, the argument and the value', () => {
  const { source } = bigram();
  const wrongLength: CausalLogitsSource = { vocabSize: 5, next: async () => ({ logits: new Float32Array(7) }) };
  it.each([
    ['generate: topP must be in [0, 1], got 2', [[0]], source, { topP: 2 }, {}],
    ['generate: doSample is true but no rng was given', [[0]], source, { doSample: true }, {}],
    ['generate: prompts[1] must be a non-empty array of token ids (start it with a BOS token), got []', [[0], []], source, {}, {}],
    ['generate: prompts[0][1] must be a token id in [0, 5), got 5', [[0, 5]], source, {}, {}],
    ['generate: eosTokenId 9 is outside the vocabulary (vocabSize 5)', [[0]], source, { eosTokenId: [1, 9] }, {}],
    ['generate: padTokenId 5 is outside the vocabulary (vocabSize 5)', [[0]], source, { padTokenId: 5 }, {}],
    ['generate: source.next must return a Float32Array of 2 rows × 5 logits = 10, got 7 logits (step 0)', [[0], [1]], wrongLength, {}, {}],
    ['generate: source.vocabSize must be an integer >= 1, got 0', [[0]], { vocabSize: 0, next: source.next }, {}, {}],
  ])('%s', async (message, prompts, src, config, options) => {
    await expect(generate(prompts, src as CausalLogitsSource, config, options)).rejects.toThrow(message);
  });

  it('names the row and step when the n-gram ban leaves no token', async () => {
    // V = 2, n = 1 bans every token seen: after the prompt [0] and one generated 1, nothing is left
    const { source: two } = fakeSource(() => [0, 1], 2, { cache: false });
    await expect(generate([[0]], two, { noRepeatNgramSize: 1 })).rejects.toThrow('generate (row 0, step 1): every logit is -Infinity (no token allowed)');
  });
});
