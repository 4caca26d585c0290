import { describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { detokenize, tokenize } from './tokenize';

describe('tokenize', () => {
  it.each([
    { text: '', tokens: [] },
    { text: '我朋友', tokens: ['我', '朋', '友'] },
    { text: '𠀀', tokens: ['𠀀'] },
    { text: 'a𠀀b𝒳', tokens: ['a', '𠀀', 'b', '𝒳'] },
    { text: 'GPT4好 ok', tokens: ['G', 'P', 'T', '4', '好', ' ', 'o', 'k'] },
  ])('splits $text into code points', ({ text, tokens }) => {
    expect(tokenize(text)).toEqual(tokens);
  });

  it.each([
    { text: '', tokens: [] },
    { text: '我用GPT4写code', tokens: ['我', '用', 'GPT4', '写', 'code'] },
    { text: 'I like NLP.', tokens: ['I', ' ', 'like', ' ', 'NLP', '.'] },
    { text: 'é1a', tokens: ['é', '1a'] }, // non-ASCII letters are not grouped
    { text: 'x𠀀y', tokens: ['x', '𠀀', 'y'] },
  ])('with groupAsciiAlnum groups ASCII runs in $text', ({ text, tokens }) => {
    expect(tokenize(text, { groupAsciiAlnum: true })).toEqual(tokens);
  });

  it('keeps a lone surrogate as its own token', () => {
    expect(tokenize('a\ud800b')).toEqual(['a', '\ud800', 'b']);
  });

  it('round-trips through detokenize on random text', () => {
    const rng = new Rng(7);
    const pool = Array.from('我朋友abcXYZ019 𠀀𝒳😀，\ud800');
    for (let k = 0; k < 500; k++) {
      const text = Array.from({ length: rng.int(20) }, () => rng.pick(pool)).join('');
      const plain = tokenize(text);
      expect(detokenize(plain)).toBe(text);
      expect(plain.length).toBe(Array.from(text).length);
      expect(detokenize(tokenize(text, { groupAsciiAlnum: true }))).toBe(text);
    }
  });

  it('names itself when given a non-string', () => {
    expect(() => tokenize(3 as unknown as string)).toThrow(/tokenize: text must be a string, got number/);
  });
});
