import { charClasses } from './char-classes';

/** One code point of normalized text and the code points [start, end) of the original it came from. */
export interface NormalizedChar {
  char: string;
  start: number;
  end: number;
}

/** A pre-tokenized word: its normalized characters, each aligned to the original string. */
export interface BasicWord {
  text: string;
  chars: NormalizedChar[];
  /** Original code point span: first character's start to last character's end. */
  start: number;
  end: number;
}

export interface BasicTokenizerOptions {
  /** Drop control characters and U+FFFD, map Unicode spaces to ' '. Default true. */
  cleanText?: boolean;
  /** Surround CJK ideographs with spaces, so each becomes a word. Default true. */
  tokenizeChineseChars?: boolean;
  /** Strip accents (NFD, then drop Mn marks); null follows doLowerCase, as in BERT. Default null. */
  stripAccents?: boolean | null;
  /** Lower-case every code point. Default true. */
  doLowerCase?: boolean;
}

/**
 * Hugging Face's BERT normalizer and pre-tokenizer, in the fast (Rust) tokenizer's order:
 * clean text, space out CJK, strip accents, lower-case; then split on whitespace and isolate
 * punctuation. Every normalized character keeps the span of the original code point it came from,
 * which is how token offsets point back into the original string.
 */
export class BasicTokenizer {
  readonly cleanText: boolean;
  readonly tokenizeChineseChars: boolean;
  readonly stripAccents: boolean | null;
  readonly doLowerCase: boolean;

  constructor(options: BasicTokenizerOptions = {}) {
    this.cleanText = options.cleanText ?? true;
    this.tokenizeChineseChars = options.tokenizeChineseChars ?? true;
    this.stripAccents = options.stripAccents ?? null;
    this.doLowerCase = options.doLowerCase ?? true;
  }

  /**
   * Normalizes `codePoints` (a slice of the original string, split per code point) whose first
   * element is code point `offset` of the original.
   */
  normalize(codePoints: readonly string[], offset = 0): NormalizedChar[] {
    const strip = this.stripAccents ?? this.doLowerCase;
    const out: NormalizedChar[] = [];
    for (let i = 0; i < codePoints.length; i++) {
      const start = offset + i;
      const end = start + 1;
      let ch = codePoints[i];
      const cp = ch.codePointAt(0)!;
      if (this.cleanText) {
        if (charClasses.isRemovedByCleanText(cp)) continue;
        if (charClasses.isSpaceForCleanText(cp)) ch = ' ';
      }
      if (this.tokenizeChineseChars && charClasses.isChineseChar(cp)) {
        // The inserted spaces belong to the ideograph; the pre-tokenizer drops them anyway.
        out.push({ char: ' ', start, end }, { char: ch, start, end }, { char: ' ', start, end });
        continue;
      }
      let pieces = [ch];
      if (strip) {
        pieces = [...ch.normalize('NFD')].filter((c) => !charClasses.isNonspacingMark(c.codePointAt(0)!));
      }
      for (const piece of pieces) {
        // Per code point, as Rust's char::to_lowercase: no context-dependent final sigma.
        const lowered = this.doLowerCase ? piece.toLowerCase() : piece;
        for (const c of lowered) out.push({ char: c, start, end });
      }
    }
    return out;
  }

  /** Splits normalized characters on whitespace and isolates each punctuation character. */
  preTokenize(chars: readonly NormalizedChar[]): BasicWord[] {
    const words: BasicWord[] = [];
    let current: NormalizedChar[] = [];
    const flush = () => {
      if (current.length === 0) return;
      words.push({
        text: current.map((c) => c.char).join(''),
        chars: current,
        start: current[0].start,
        end: current[current.length - 1].end,
      });
      current = [];
    };
    for (const c of chars) {
      const cp = c.char.codePointAt(0)!;
      if (charClasses.isWhitespace(cp)) {
        flush();
      } else if (charClasses.isPunctuation(cp)) {
        flush();
        current.push(c);
        flush();
      } else {
        current.push(c);
      }
    }
    flush();
    return words;
  }

  /** Normalizes and pre-tokenizes a whole string (no special-token handling). */
  tokenize(text: string): BasicWord[] {
    return this.preTokenize(this.normalize([...text]));
  }
}
