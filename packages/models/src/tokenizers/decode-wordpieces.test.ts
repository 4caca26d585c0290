import { describe, expect, it } from 'vitest';
import { decodeWordPieces } from './decode-wordpieces';

describe('decodeWordPieces', () => {
  it.each([
    ['empty', [], false, ''],
    ['glues ## pieces', ['run', '##ning', 'fast'], false, 'running fast'],
    ['spaces between CJK characters, as transformers', ['你', '好'], false, '你 好'],
    ['per-token clean-up of punctuation', ['hello', ',', 'world', '!', '?', '.'], false, 'hello, world!?.'],
    // The Rust decoder cleans each token, so rules spanning tokens do not fire...
    ['no cross-token rules per token', ['a', "'", 's', 'do', 'not'], false, "a ' s do not"],
    // ...unless transformers' string-level clean_up_tokenization_spaces is on.
    ['string-level clean-up', ['a', "'", 's', 'do', 'not', '.'], true, "a's do not."],
    ['a lone ## at the start stays', ['##a', 'b'], false, '##a b'],
  ] as const)('%s', (_name, tokens, cleanUp, expected) => {
    expect(decodeWordPieces(tokens, '##', cleanUp)).toBe(expected);
  });
});
