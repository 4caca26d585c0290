import {
  CHINESE_CHARS,
  NONSPACING_MARKS,
  PUNCTUATION,
  REMOVED_BY_CLEAN_TEXT,
  SPACE_BY_CLEAN_TEXT,
  WHITESPACE,
} from './bert-unicode-tables';

/** Binary search in a flat sorted list of inclusive [first, last] pairs. */
function inRanges(ranges: readonly number[], cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < ranges[2 * mid]) hi = mid - 1;
    else if (cp > ranges[2 * mid + 1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * The character classes of Hugging Face's BertNormalizer and BertPreTokenizer (Rust `tokenizers`),
 * measured from the library itself (see bert-unicode-tables.ts), so results match the fast tokenizer
 * even where its Unicode tables are older than Node's.
 */
export const charClasses = {
  /** clean_text drops it: NUL, U+FFFD, and categories Cc/Cf/Co except \t \n \r. */
  isRemovedByCleanText: (cp: number) => inRanges(REMOVED_BY_CLEAN_TEXT, cp),
  /** clean_text maps it to a space (\t \n \r and Unicode spaces). */
  isSpaceForCleanText: (cp: number) => inRanges(SPACE_BY_CLEAN_TEXT, cp),
  /** A CJK ideograph that tokenize_chinese_chars surrounds with spaces. */
  isChineseChar: (cp: number) => inRanges(CHINESE_CHARS, cp),
  /** A non-spacing mark (Mn) that strip_accents removes after NFD. */
  isNonspacingMark: (cp: number) => inRanges(NONSPACING_MARKS, cp),
  /** Isolated by the pre-tokenizer: ASCII 33-47, 58-64, 91-96, 123-126 and category P*. */
  isPunctuation: (cp: number) => inRanges(PUNCTUATION, cp),
  /** The pre-tokenizer splits on it and drops it. */
  isWhitespace: (cp: number) => inRanges(WHITESPACE, cp),
} as const;
