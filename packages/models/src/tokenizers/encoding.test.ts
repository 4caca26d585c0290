import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { BertTokenizer } from './bert-tokenizer';
import { charClasses } from './char-classes';
import { charLabelsToTokenLabels, charToToken, offsetsToUtf16, replaceTokenSpans, tokenToChars } from './encoding';

const FIXTURE = fileURLToPath(new URL('../../test/fixtures/tokenizers/bert-zh-lower/vocab.txt', import.meta.url));
const tok = BertTokenizer.fromVocabText(readFileSync(FIXTURE, 'utf8'));
const CORPUS = fileURLToPath(new URL('../../../../apps/gap-relm/data/corpus/wiki.zh-cn.txt', import.meta.url));
const lines = readFileSync(CORPUS, 'utf8').split('\n').filter((l) => l.length > 0);

describe('charToToken / tokenToChars', () => {
  // "hello 你好" -> [CLS] hello 你 好 [SEP]
  const enc = tok.encode('hello 你好');
  it.each([
    [0, 1], [4, 1], [5, -1], [6, 2], [7, 3], [8, -1], [100, -1],
  ])('char %i -> token %i', (char, token) => {
    expect(charToToken(enc, char)).toBe(token);
  });

  it.each([
    [0, null], [1, [0, 5]], [2, [6, 7]], [3, [7, 8]], [4, null],
  ] as const)('token %i -> chars %j', (token, chars) => {
    expect(tokenToChars(enc, token)).toEqual(chars);
  });

  it('looks in the asked sequence of a pair', () => {
    const pair = tok.encode('你好', '好');
    expect(charToToken(pair, 0, 1)).toBe(4);
    expect(charToToken(pair, 1, 1)).toBe(-1);
    expect(charToToken(pair, 1, 0)).toBe(2);
  });

  it.each([
    ['charToToken', () => charToToken(enc, -1), /charToToken: charIndex must be an integer >= 0, got -1/],
    ['tokenToChars', () => tokenToChars(enc, 5), /tokenToChars: tokenIndex must be an integer in \[0, 5\), got 5/],
  ])('%s refuses an index out of range', (_name, run, message) => {
    expect(run).toThrow(message);
  });

  it('offsets are consistent on 300 seeded noisy corpus sentences', () => {
    const rng = new Rng(20261126);
    const noise = ['hello', ' ', '\t', '\u0000', '😀', '𠀀', 'Café', ',', '\u200b', '１２', 'running'];
    for (let n = 0; n < 300; n++) {
      const chars = [...lines[rng.int(lines.length)]];
      for (let k = rng.int(4); k > 0; k--) chars.splice(rng.int(chars.length + 1), 0, noise[rng.int(noise.length)]);
      const text = chars.join('');
      const cps = [...text];
      const e = tok.encode(text);
      let previousEnd = 0;
      for (let t = 1; t < e.input_ids.length - 1; t++) {
        const [s, end] = tokenToChars(e, t)!;
        expect(s).toBeGreaterThanOrEqual(previousEnd === 0 ? 0 : previousEnd - 1);
        expect(end).toBeGreaterThan(s);
        expect(end).toBeLessThanOrEqual(cps.length);
        expect(charToToken(e, s)).toBeLessThanOrEqual(t);
        previousEnd = end;
      }
      // Every CJK ideograph is a token of its own, found again from its position.
      cps.forEach((c, i) => {
        if (!charClasses.isChineseChar(c.codePointAt(0)!)) return;
        const t = charToToken(e, i);
        expect(tokenToChars(e, t)).toEqual([i, i + 1]);
      });
    }
  });
});

describe('charLabelsToTokenLabels (first-character rule)', () => {
  it.each([
    ['one label per Chinese character', '我很高兴', undefined, [1, 2, 3, 4], [-100, 1, 2, 3, 4, -100]],
    ['a word takes its first character label', 'hello世界', undefined, [1, 2, 3, 4, 5, 6, 7], [-100, 1, 6, 7, -100]],
    ['spaces and dropped characters lose their labels', '你 \u0000好', undefined, [1, 2, 3, 4], [-100, 1, 4, -100]],
    ['NFD pieces of one syllable count it once', '한국', undefined, [7, 8], [-100, 7, -100, -100, 8, -100, -100, -100]],
    ['padding is ignored', '你好', 5, [1, 2], [-100, 1, 2, -100, -100]],
  ] as const)('%s', (_name, text, padTo, labels, expected) => {
    const e = tok.encode(text, undefined, { padTo });
    expect(charLabelsToTokenLabels(e, labels, -100)).toEqual(expected);
  });

  it('labels the pair sequence when asked', () => {
    const e = tok.encode('你', '好吗');
    expect(charLabelsToTokenLabels(e, ['a', 'b'], '-', 1)).toEqual(['-', '-', '-', 'a', 'b', '-']);
  });

  it('refuses labels shorter than the text', () => {
    expect(() => charLabelsToTokenLabels(tok.encode('你好'), [1], -100)).toThrow(
      /charLabelsToTokenLabels: token 2 starts at code point 1, but charLabels has 1 labels/,
    );
  });
});

describe('offsetsToUtf16', () => {
  it('maps code point offsets to UTF-16 units around non-BMP characters', () => {
    const text = '𠀀a😀你好';
    const e = tok.encode(text);
    const units = offsetsToUtf16(text, e.offsets);
    // 𠀀 | a😀 (one word, [UNK]) | 你 | 好
    expect(units).toEqual([[0, 0], [0, 2], [2, 5], [5, 6], [6, 7], [0, 0]]);
    expect(text.slice(...units[2])).toBe('a😀');
    expect(text.slice(...units[3])).toBe('你');
  });

  it('refuses an offset past the end', () => {
    expect(() => offsetsToUtf16('ab', [[1, 3]])).toThrow(/offsetsToUtf16: offset \[1, 3\) is outside a text of 2 code points/);
  });
});

describe('replaceTokenSpans', () => {
  it.each([
    ['a CSC correction in place', '我朋唷打算去', [[3, '友']], '我朋友打算去'],
    ['spaces and dropped characters around are kept', '朋\u0000唷 ok', [[2, '友']], '朋\u0000友 ok'],
    ['a whole word and a non-BMP neighbour', '𠀀hello 你', [[2, 'HI'], [1, 'X']], 'XHI 你'],
    ['nothing to replace', 'Café', [], 'Café'],
  ] as const)('%s', (_name, text, replacements, expected) => {
    expect(replaceTokenSpans(text, tok.encode(text), new Map(replacements))).toBe(expected);
  });

  it.each([
    ['a special token', '你好', [[0, 'x']], /replaceTokenSpans: token 0 \(\[CLS\]\) has no span in the text/],
    ['two pieces of one syllable', '한', [[1, 'a'], [2, 'b']], /replaceTokenSpans: token 2 overlaps the span of another replaced token/],
  ] as const)('refuses %s', (_name, text, replacements, message) => {
    expect(() => replaceTokenSpans(text, tok.encode(text), new Map(replacements))).toThrow(message);
  });
});
