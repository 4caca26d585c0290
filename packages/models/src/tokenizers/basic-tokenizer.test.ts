import { describe, expect, it } from 'vitest';
import { BasicTokenizer, type BasicTokenizerOptions } from './basic-tokenizer';
import { CHINESE_CHARS } from './bert-unicode-tables';
import { charClasses } from './char-classes';

describe('BasicTokenizer', () => {
  it.each([
    ['CJK characters become words', '你好ab', {}, [['你', 0, 1], ['好', 1, 2], ['ab', 2, 4]]],
    ['lower-case strips accents, offsets keep the original span', 'Café ÉCOLE', {}, [['cafe', 0, 4], ['ecole', 5, 10]]],
    ['cased keeps accents', 'Café', { doLowerCase: false }, [['Café', 0, 4]]],
    ['lower-case without stripping', 'Café', { stripAccents: false }, [['café', 0, 4]]],
    ['stripping without lower-casing', 'Café', { doLowerCase: false, stripAccents: true }, [['Cafe', 0, 4]]],
    ['a removed combining mark does not extend the span', 'e\u0301x', {}, [['ex', 0, 3]]],
    ['punctuation is isolated (ASCII and Unicode P*)', 'a,b—c', {}, [['a', 0, 1], [',', 1, 2], ['b', 2, 3], ['—', 3, 4], ['c', 4, 5]]],
    ['$ and ^ are ASCII punctuation too', '$5^2', {}, [['$', 0, 1], ['5', 1, 2], ['^', 2, 3], ['2', 3, 4]]],
    ['control characters vanish, tabs split', 'a\u0000b\tc', {}, [['ab', 0, 3], ['c', 4, 5]]],
    ['clean_text off keeps control characters', 'a\u0007b', { cleanText: false }, [['a\u0007b', 0, 3]]],
    ['non-BMP characters count as one code point', '𠀀x😀', {}, [['𠀀', 0, 1], ['x😀', 1, 3]]],
    ['CJK splitting off', '你好', { tokenizeChineseChars: false }, [['你好', 0, 2]]],
    ['Greek capital sigma lower-cases per code point (no final form)', 'ΟΣ', { stripAccents: false }, [['οσ', 0, 2]]],
    ['a lower-case expansion stays on its character', 'İx', { stripAccents: false }, [['i\u0307x', 0, 2]]],
    ['empty', '', {}, []],
  ] as const)('%s', (_name, text, options: BasicTokenizerOptions, expected) => {
    const words = new BasicTokenizer(options).tokenize(text);
    expect(words.map((w) => [w.text, w.start, w.end])).toEqual(expected);
  });

  it('aligns every normalized character of a decomposed syllable to it', () => {
    const [word] = new BasicTokenizer().tokenize('한');
    expect(word.chars.map((c) => [c.char, c.start, c.end])).toEqual([['ᄒ', 0, 1], ['ᅡ', 0, 1], ['ᆫ', 0, 1]]);
  });
});

describe('character tables measured from tokenizers', () => {
  // The slow tokenizer's ranges, except that Rust starts the fifth at 0x2B920 where Python has 0x2B820.
  it('CJK ranges are the ones transformers documents (adjacent ones merged)', () => {
    expect(CHINESE_CHARS).toEqual([
      0x3400, 0x4dbf, 0x4e00, 0x9fff, 0xf900, 0xfaff, 0x20000, 0x2a6df, 0x2a700, 0x2b81f, 0x2b920, 0x2ceaf, 0x2f800, 0x2fa1f,
    ]);
  });

  it('ASCII punctuation is exactly 33-47, 58-64, 91-96, 123-126', () => {
    const ascii = [];
    for (let cp = 0; cp < 128; cp++) if (charClasses.isPunctuation(cp)) ascii.push(cp);
    const expected = [];
    for (const [a, b] of [[33, 47], [58, 64], [91, 96], [123, 126]]) for (let cp = a; cp <= b; cp++) expected.push(cp);
    expect(ascii).toEqual(expected);
  });

  it.each([
    ['\t', false, true], ['\n', false, true], ['\u000b', true, false], ['\u0085', true, false], ['\u00a0', false, true],
    ['\u200b', true, false], ['\ufeff', true, false], ['\ufffd', true, false], ['\u3000', false, true], ['😀', false, false],
  ])('clean_text on %j: removed %s, space %s', (ch, removed, space) => {
    const cp = ch.codePointAt(0)!;
    expect([charClasses.isRemovedByCleanText(cp), charClasses.isSpaceForCleanText(cp)]).toEqual([removed, space]);
  });
});
