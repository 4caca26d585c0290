import type { BasicWord } from './basic-tokenizer';
import type { Vocabulary } from './vocabulary';

/** A WordPiece token with its original code point span. */
export interface WordPieceToken {
  token: string;
  id: number;
  start: number;
  end: number;
}

export interface WordPieceOptions {
  /** Token for a word that cannot be split into vocabulary pieces. Default '[UNK]'. */
  unkToken?: string;
  /** Prefix of a piece that continues a word. Default '##'. */
  continuingSubwordPrefix?: string;
  /** A longer word (in code points) becomes one unknown token. Default 100. */
  maxInputCharsPerWord?: number;
}

/** Greedy longest-match-first WordPiece, as BERT's and Hugging Face's (slow and fast) tokenizers. */
export class WordPiece {
  readonly unkToken: string;
  readonly unkId: number;
  readonly prefix: string;
  readonly maxInputCharsPerWord: number;

  constructor(
    readonly vocab: Vocabulary,
    options: WordPieceOptions = {},
  ) {
    this.unkToken = options.unkToken ?? '[UNK]';
    this.prefix = options.continuingSubwordPrefix ?? '##';
    this.maxInputCharsPerWord = options.maxInputCharsPerWord ?? 100;
    const unkId = vocab.idOf(this.unkToken);
    if (unkId === undefined) {
      throw new RangeError(`WordPiece: unkToken ${JSON.stringify(this.unkToken)} is not in the vocabulary`);
    }
    this.unkId = unkId;
  }

  /** Splits one word; the whole word becomes unkToken when any part has no match. */
  tokenize(word: BasicWord): WordPieceToken[] {
    const chars = word.chars;
    const unknown = [{ token: this.unkToken, id: this.unkId, start: word.start, end: word.end }];
    if (chars.length > this.maxInputCharsPerWord) return unknown;
    const pieces: WordPieceToken[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: WordPieceToken | undefined;
      while (start < end) {
        let text = chars.slice(start, end).map((c) => c.char).join('');
        if (start > 0) text = this.prefix + text;
        const id = this.vocab.idOf(text);
        if (id !== undefined) {
          found = { token: text, id, start: chars[start].start, end: chars[end - 1].end };
          break;
        }
        end--;
      }
      if (found === undefined) return unknown;
      pieces.push(found);
      start = end;
    }
    return pieces;
  }
}
