import { BasicTokenizer, type BasicTokenizerOptions } from './basic-tokenizer';
import { Vocabulary } from './vocabulary';

export interface BuildCharVocabOptions {
  /** Keep tokens seen at least this often. Default 1. */
  minFreq?: number;
  /** Vocabulary size, special tokens included. Default: no limit. */
  maxSize?: number;
  /** Put first, in this order (ids 0..). Default [PAD] [UNK] [CLS] [SEP] [MASK]. */
  specialTokens?: readonly string[];
  /** How the text is normalized and split; must match the tokenizer that will use the vocabulary. Default: transformers' (lower-case). */
  basic?: BasicTokenizerOptions;
  /** WordPiece continuation prefix. Default '##'. */
  continuingSubwordPrefix?: string;
}

export const DEFAULT_SPECIAL_TOKENS: readonly string[] = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** Orders strings by code point (JS `<` compares UTF-16 units, which puts U+10000.. before U+E000..). */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * A BERT vocabulary for training from scratch, counted over the words the BasicTokenizer produces
 * (so the vocabulary sees text exactly as BertTokenizer will):
 *  1. every CJK ideograph and punctuation mark is its own word, so each becomes a token;
 *  2. any other word (an English word, a number) counts as a whole token AND as its characters:
 *     the first as itself, the rest as "##c" pieces, so a word too rare to keep still splits into
 *     known characters instead of becoming [UNK];
 *  3. order: specialTokens first, then by descending frequency, ties by code point; minFreq and
 *     maxSize cut the tail. Deterministic for a given input.
 * Save it with `new BertTokenizer(vocab, { doLowerCase }).save(dir)` for a normal vocab.txt.
 */
export function buildCharVocab(sentences: Iterable<string>, options: BuildCharVocabOptions = {}): Vocabulary {
  const minFreq = options.minFreq ?? 1;
  const maxSize = options.maxSize ?? Number.POSITIVE_INFINITY;
  const specials = options.specialTokens ?? DEFAULT_SPECIAL_TOKENS;
  const prefix = options.continuingSubwordPrefix ?? '##';
  if (!Number.isInteger(minFreq) || minFreq < 1) {
    throw new RangeError(`buildCharVocab: minFreq must be an integer >= 1, got ${minFreq}`);
  }
  if (!(maxSize === Number.POSITIVE_INFINITY || Number.isInteger(maxSize)) || maxSize < specials.length) {
    throw new RangeError(`buildCharVocab: maxSize must be an integer >= ${specials.length} (the special tokens), got ${maxSize}`);
  }
  if (new Set(specials).size !== specials.length) {
    throw new RangeError(`buildCharVocab: specialTokens must be distinct, got ${JSON.stringify(specials)}`);
  }

  const basic = new BasicTokenizer(options.basic);
  const counts = new Map<string, number>();
  const add = (token: string) => counts.set(token, (counts.get(token) ?? 0) + 1);
  for (const sentence of sentences) {
    for (const word of basic.tokenize(sentence)) {
      add(word.text);
      if (word.chars.length > 1) {
        add(word.chars[0].char);
        for (const c of word.chars.slice(1)) add(prefix + c.char);
      }
    }
  }
  const specialSet = new Set(specials);
  const kept = [...counts].filter(([token, n]) => n >= minFreq && !specialSet.has(token));
  kept.sort((a, b) => b[1] - a[1] || compareCodePoints(a[0], b[0]));
  const room = maxSize - specials.length;
  return new Vocabulary([...specials, ...kept.slice(0, room).map(([token]) => token)]);
}
