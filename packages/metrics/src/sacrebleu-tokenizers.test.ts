import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rstripPython, splitPythonWhitespace, stripPython } from './python-strings';
import { isSacrebleuChineseChar, tokenize13a, tokenizeZh } from './sacrebleu-tokenizers';

const fixture = JSON.parse(readFileSync(new URL('../test/fixtures/bleu-sacrebleu.json', import.meta.url), 'utf8')) as {
  tokenizers: { input: string; '13a': string; zh: string }[];
  python_whitespace: number[];
  zh_chinese_ranges: [number, number][];
};

describe('sacreBLEU tokenizers', () => {
  it.each(fixture.tokenizers)('13a and zh agree with sacrebleu on $input', (c) => {
    expect(tokenize13a(c.input)).toBe(c['13a']);
    expect(tokenizeZh(c.input)).toBe(c.zh);
  });

  it.each([
    { input: 'It costs 1,000.5 dollars.', tokens: 'It costs 1,000.5 dollars .' },
    { input: 'pages 3-4, x-y', tokens: 'pages 3 - 4 , x-y' },
    { input: 'a &amp; b', tokens: 'a & b' },
  ])('13a: $input -> $tokens', ({ input, tokens }) => {
    expect(tokenize13a(input)).toBe(tokens);
  });

  it('zh splits CJK per code point and keeps numbers whole', () => {
    expect(tokenizeZh('价格是1,000.5元。')).toBe('价 格 是 1,000.5 元 。');
  });

  it("uses Python's whitespace set, not JavaScript's \\s", () => {
    const expected = new Set(fixture.python_whitespace);
    expect(expected.size).toBeGreaterThan(20);
    for (let cp = 0; cp <= 0x3000; cp++) {
      const isSpace = splitPythonWhitespace(`a${String.fromCodePoint(cp)}b`).length === 2;
      expect(isSpace, `U+${cp.toString(16)}`).toBe(expected.has(cp));
    }
    expect(splitPythonWhitespace('a\ufeffb')).toEqual(['a\ufeffb']); // JS \s would split here
    expect(rstripPython('x \x1c\x85')).toBe('x');
    expect(stripPython('\u3000 x\t')).toBe('x');
  });

  it("reproduces sacrebleu's zh Chinese-character ranges for every code point", () => {
    const ranges = fixture.zh_chinese_ranges;
    expect(ranges.length).toBeGreaterThan(5);
    let r = 0;
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      while (r < ranges.length && ranges[r][1] < cp) r++;
      const expected = r < ranges.length && ranges[r][0] <= cp;
      if (isSacrebleuChineseChar(cp) !== expected) {
        expect.fail(`U+${cp.toString(16)}: expected ${expected}`);
      }
    }
    // The quirk spelled out: “ (U+201C) counts as Chinese, 𠀀 (U+20000) does not.
    expect(isSacrebleuChineseChar(0x201c)).toBe(true);
    expect(isSacrebleuChineseChar(0x20000)).toBe(false);
  });
});
