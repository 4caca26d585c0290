import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { fakeSource, historyModel } from './fake-sources';
import { generate } from './generate';
import { generateText } from './generate-text';
import { RowTextStream, findStopString, stopPrefixLength } from './text-stream';

// Tokens are UTF-8 byte pieces; 中 (E4 B8 AD) and 文 (E6 96 87) are also split across tokens.
const PIECES: number[][] = [
  ...['a', 'b', 'x', 'y', 'z', '<', '/', 's', '>', '</', 's>', 'ab', ' ', '中', '文'].map((t) => [...new TextEncoder().encode(t)]),
  [0xe4],
  [0xb8, 0xad],
  [0xe6, 0x96],
  [0x87],
];
const EOS = PIECES.length; // one id past the pieces
const V = PIECES.length + 1;
const BYTES: Record<string, number[]> = { E4: [0xe4], B8AD: [0xb8, 0xad] };
/** The id of a piece: its text, or E4 / B8AD for the halves of 中. */
const id = (piece: string) => PIECES.findIndex((p) => (BYTES[piece] ? p.join() === BYTES[piece].join() : new TextDecoder().decode(new Uint8Array(p)) === piece));
/** Decodes ids as the bytes of their pieces; an incomplete character at the end becomes U+FFFD. */
const decode = (ids: readonly number[]) => new TextDecoder().decode(new Uint8Array(ids.flatMap((t) => PIECES[t])));

/**
 * A source whose greedy choice after prompt [r] follows `scripts[r]` (then EOS), so a row's tokens
 * are known in advance; with the cache, as a KV-cached model is called.
 */
function scripted(scripts: readonly (readonly number[])[]) {
  return fakeSource(
    (sequence) => {
      const next = scripts[sequence[0]][sequence.length - 1] ?? EOS;
      return Array.from({ length: V }, (_, t) => (t === next ? 1 : 0));
    },
    V,
    { cache: true },
  );
}

/**
 * What a row must give: the shortest prefix of its script whose text holds a stop string, cut
 * before the earliest; else the whole script, then EOS unless maxNewTokens ends it first.
 */
function expected(script: readonly number[], stop: readonly string[], maxNewTokens: number) {
  for (let k = 1; k <= script.length; k++) {
    const text = decode(script.slice(0, k));
    const starts = stop.map((s) => text.indexOf(s)).filter((i) => i >= 0);
    if (starts.length > 0) return { text: text.slice(0, Math.min(...starts)), tokens: script.slice(0, k), finishReason: 'stop' };
  }
  return script.length < maxNewTokens ? { text: decode(script), tokens: [...script, EOS], finishReason: 'stop' } : { text: decode(script), tokens: [...script], finishReason: 'length' };
}

async function run(scripts: readonly (readonly number[])[], stop: readonly string[], maxNewTokens = 64) {
  const streamed = scripts.map(() => '');
  const ended: string[] = scripts.map(() => '');
  const { source } = scripted(scripts);
  const out = await generateText(scripts.map((_, r) => [r]), source, { maxNewTokens, eosTokenId: EOS }, {
    decode,
    stop,
    onText: ({ row, delta }) => {
      expect(ended[row], 'text after the end').toBe('');
      streamed[row] += delta;
    },
    onEnd: ({ row, finishReason }) => (ended[row] += finishReason),
  });
  // onEnd once per row, with the reason returned.
  expect(ended).toEqual(out.map((o) => o.finishReason));
  return { out, streamed };
}

describe('generateText: stop strings', () => {
  it.each([
    ['split across tokens', ['x', '</', 's>', 'y'], ['</s>'], 'x'],
    ['split into single characters', ['a', '<', '/', 's', '>', 'b'], ['</s>'], 'a'],
    ['at the very start', ['</', 's>', 'a'], ['</s>'], ''],
    ['one token that is the stop string', ['ab', 'x'], ['ab'], ''],
    ['several: the first one found ends the row', ['x', 'y', 'z'], ['xyz', 'y'], 'x'],
    ['several: the earliest start wins when both are found at once', ['a', 'b', 'x'], ['bx', 'abx'], ''],
    ['a possible start that does not complete', ['<', '/', 'a', '</', 's>'], ['</s>'], '</a'],
    ['made of a character split in bytes', ['a', 'E4', 'B8AD', 'x'], ['中x'], 'a'],
    ['never found: runs to maxNewTokens', ['a', 'b', 'a'], ['ba b'], 'aba'],
  ])('%s', async (_, pieces, stop, text) => {
    const script = pieces.map(id);
    expect(script.every((t) => t >= 0)).toBe(true);
    const { out, streamed } = await run([script], stop, script.length);
    expect(out[0].text).toBe(text);
    expect(out[0]).toEqual(expected(script, stop, script.length));
    expect(streamed[0]).toBe(text);
  });

  it('matches the shortest stopping prefix on seeded random scripts, and streams exactly the final text', async () => {
    const rng = new Rng(13);
    const alphabet = ['a', 'b', '<', '/', 's', '>', '中', '文', ' '];
    for (let trial = 0; trial < 200; trial++) {
      const rows = 1 + rng.int(4);
      const scripts = Array.from({ length: rows }, () => Array.from({ length: 1 + rng.int(12) }, () => rng.int(PIECES.length)));
      const stop = Array.from({ length: rng.int(4) }, () => Array.from({ length: 1 + rng.int(3) }, () => alphabet[rng.int(alphabet.length)]).join(''));
      const { out, streamed } = await run(scripts, stop);
      scripts.forEach((script, r) => {
        const want = expected(script, stop, 64);
        expect(out[r], JSON.stringify({ trial, script, stop })).toEqual(want);
        expect(streamed[r]).toBe(want.text);
        expect(findStopString(out[r].text, stop)).toBe(-1);
      });
    }
  });

  it('stops calling the model once every row has met a stop string', async () => {
    const script = [id('a'), id('</'), id('s>'), id('b'), id('b'), id('b')];
    const { source, calls } = scripted([script, script]);
    const out = await generateText([[0], [1]], source, { maxNewTokens: 6 }, { decode, stop: ['</s>'] });
    expect(out.map((o) => o.text)).toEqual(['a', 'a']);
    expect(calls.length).toBe(3);
  });

  it('ends a row at EOS (kept in tokens, not in the text) and gives the same tokens as generate without stop strings', async () => {
    const { source } = scripted([[id('a'), id('b')]]);
    expect(await generateText([[0]], source, { maxNewTokens: 5, eosTokenId: EOS }, { decode })).toEqual([{ text: 'ab', tokens: [id('a'), id('b'), EOS], finishReason: 'stop' }]);
    const config = { maxNewTokens: 12, doSample: true, temperature: 0.7, topP: 0.9, eosTokenId: 3 };
    const prompts = [[1], [2, 5], [7]];
    const tokens = await generate(prompts, fakeSource(historyModel(V, 4), V, { cache: false }).source, config, { rng: new Rng(9) });
    const texts = await generateText(prompts, fakeSource(historyModel(V, 4), V, { cache: false }).source, config, { rng: new Rng(9), decode });
    expect(texts.map((t) => t.tokens)).toEqual(tokens);
    expect(texts.map((t) => t.text)).toEqual(tokens.map((row) => decode(row.filter((t) => t !== 3))));
  });

  it('refuses an empty stop string and a missing decoder', async () => {
    const { source } = scripted([[0]]);
    await expect(generateText([[0]], source, {}, { decode, stop: [''] })).rejects.toThrow('RowTextStream: stop strings must be non-empty strings, got [""]');
    await expect(generateText([[0]], source, {}, {} as never)).rejects.toThrow('generateText: options.decode must be a function');
  });
});

describe('RowTextStream', () => {
  it('holds back a trailing half character and a possible stop-string start, ends at maxTokens', async () => {
    const pieces: string[] = [];
    const row = new RowTextStream({ decode, stop: ['</s>'], maxTokens: 4, onText: (d) => pieces.push(d) });
    for (const t of ['a', 'E4', 'B8AD', '</'].map(id)) await row.accept(t);
    expect(pieces).toEqual(['a', '中', '</']);
    expect(row.finished).toBe('length');
    expect(row.text).toBe('a中</');
  });

  it('streams nothing more when cancelled', async () => {
    const pieces: string[] = [];
    const row = new RowTextStream({ decode, stop: ['</s>'], onText: (d) => pieces.push(d) });
    await row.accept(id('a'));
    await row.accept(id('</'));
    await row.end('cancelled');
    expect(pieces).toEqual(['a']);
    expect(row).toMatchObject({ finished: 'cancelled', text: 'a</' });
  });

  it.each([
    ['abc</', ['</s>'], 2],
    ['abc<', ['</s>', '<x'], 1],
    ['abc', ['</s>'], 0],
    ['ab', ['b', 'abz'], 2], // the longest possible start
    ['', ['x'], 0],
  ])('stopPrefixLength(%j, %j) = %i', (text, stop, n) => {
    expect(stopPrefixLength(text, stop)).toBe(n);
  });
});
