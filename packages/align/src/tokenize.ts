export interface TokenizeOptions {
  /**
   * Group runs of ASCII letters and digits into one token (BERT-style word pieces start from
   * these), so labels line up with model tokens. Default false: one token per code point.
   */
  groupAsciiAlnum?: boolean;
}

function isAsciiAlnum(code: number): boolean {
  return (code >= 0x30 && code <= 0x39) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/**
 * Splits text into tokens: one per Unicode code point (never per UTF-16 unit, so `'𠀀'` is one
 * token), or with `groupAsciiAlnum` runs of ASCII letters/digits as one token.
 * `detokenize(tokenize(text)) === text` for every string.
 */
export function tokenize(text: string, options: TokenizeOptions = {}): string[] {
  if (typeof text !== 'string') throw new TypeError(`tokenize: text must be a string, got ${typeof text}`);
  const group = options.groupAsciiAlnum ?? false;
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (group && isAsciiAlnum(code)) {
      let end = i + 1;
      while (end < text.length && isAsciiAlnum(text.charCodeAt(end))) end++;
      tokens.push(text.slice(i, end));
      i = end;
      continue;
    }
    // A high surrogate followed by a low one is one code point; a lone surrogate stays alone.
    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    const width = code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff ? 2 : 1;
    tokens.push(text.slice(i, i + width));
    i += width;
  }
  return tokens;
}

/** Inverse of `tokenize`: tokens carry their exact text, so joining restores the string. */
export function detokenize(tokens: readonly string[]): string {
  return tokens.join('');
}
