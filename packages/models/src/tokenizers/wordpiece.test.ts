import { describe, expect, it } from 'vitest';
import { BasicTokenizer } from './basic-tokenizer';
import { Vocabulary } from './vocabulary';
import { WordPiece } from './wordpiece';

const vocab = new Vocabulary(['[UNK]', 'un', '##aff', '##able', 'a', '##a', '##b', 'ab', 'abc', '##𠀀', '<unk>']);
const basic = new BasicTokenizer({ tokenizeChineseChars: false });
const pieces = (wp: WordPiece, text: string) =>
  basic.tokenize(text).flatMap((w) => wp.tokenize(w).map((p) => [p.token, p.start, p.end]));

describe('WordPiece', () => {
  const wp = new WordPiece(vocab);
  it.each([
    ['greedy longest match first', 'unaffable', [['un', 0, 2], ['##aff', 2, 5], ['##able', 5, 9]]],
    ['longest prefix, then continuation', 'abab', [['ab', 0, 2], ['##a', 2, 3], ['##b', 3, 4]]],
    ['whole word when it is in the vocabulary', 'abc', [['abc', 0, 3]]],
    ['a word with an unmatched part becomes one [UNK]', 'abx', [['[UNK]', 0, 3]]],
    ['non-BMP continuation', 'a𠀀', [['a', 0, 1], ['##𠀀', 1, 2]]],
    ['exactly 100 characters is still split', 'a'.repeat(100), [['a', 0, 1], ...Array.from({ length: 99 }, (_, i) => ['##a', i + 1, i + 2])]],
    ['101 characters is [UNK]', 'a'.repeat(101), [['[UNK]', 0, 101]]],
  ] as const)('%s', (_name, text, expected) => {
    expect(pieces(wp, text)).toEqual(expected);
  });

  it('takes its unknown token, prefix and limit from options', () => {
    const custom = new WordPiece(vocab, { unkToken: '<unk>', maxInputCharsPerWord: 2 });
    expect(pieces(custom, 'abc ab')).toEqual([['<unk>', 0, 3], ['ab', 4, 6]]);
  });

  it('refuses an unknown token missing from the vocabulary', () => {
    expect(() => new WordPiece(vocab, { unkToken: '[NOPE]' })).toThrow(/WordPiece: unkToken "\[NOPE\]" is not in the vocabulary/);
  });
});
