/**
 * One encoded input, in the field names of transformers' BatchEncoding. Offsets are [start, end)
 * in CODE POINTS of the original string (what Python's `return_offsets_mapping` gives); special and
 * padding tokens have [0, 0]. `sequence_ids` says which input a token came from (0 = text,
 * 1 = pair, null = special or padding), like the fast tokenizer's `sequence_ids()`.
 */
export interface Encoding {
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  tokens: string[];
  offsets: [number, number][];
  sequence_ids: (0 | 1 | null)[];
}

/**
 * Index of the token that covers code point `charIndex` of sequence `sequence`, or -1 when no
 * token does (a space, a dropped control character, or a character truncated away). When several
 * tokens cover the character (NFD pieces of one Hangul syllable), the first.
 */
export function charToToken(encoding: Encoding, charIndex: number, sequence: 0 | 1 = 0): number {
  if (!Number.isInteger(charIndex) || charIndex < 0) {
    throw new RangeError(`charToToken: charIndex must be an integer >= 0, got ${charIndex}`);
  }
  for (let t = 0; t < encoding.offsets.length; t++) {
    if (encoding.sequence_ids[t] !== sequence) continue;
    const [start, end] = encoding.offsets[t];
    if (start <= charIndex && charIndex < end) return t;
  }
  return -1;
}

/** The [start, end) code points of token `tokenIndex` in its input, or null for special and padding tokens. */
export function tokenToChars(encoding: Encoding, tokenIndex: number): [number, number] | null {
  if (!Number.isInteger(tokenIndex) || tokenIndex < 0 || tokenIndex >= encoding.input_ids.length) {
    throw new RangeError(`tokenToChars: tokenIndex must be an integer in [0, ${encoding.input_ids.length}), got ${tokenIndex}`);
  }
  if (encoding.sequence_ids[tokenIndex] === null) return null;
  const [start, end] = encoding.offsets[tokenIndex];
  return [start, end];
}

/**
 * Per-token labels from per-character labels (one per code point of the text of `sequence`, as
 * `@proj/align` produces them), by the FIRST-CHARACTER rule: a token takes the label of the first
 * code point it covers. A token that starts on the same character as the token before it (pieces of
 * one decomposed character) gets `ignoreLabel`, so a character is counted once; so do special and
 * padding tokens. Characters inside a multi-character token other than the first (an English word,
 * a number) do not reach the model; map predictions back with tokenToChars.
 */
export function charLabelsToTokenLabels<L>(
  encoding: Encoding,
  charLabels: readonly L[],
  ignoreLabel: L,
  sequence: 0 | 1 = 0,
): L[] {
  const out: L[] = [];
  let previousStart = -1;
  for (let t = 0; t < encoding.input_ids.length; t++) {
    if (encoding.sequence_ids[t] !== sequence) {
      out.push(ignoreLabel);
      continue;
    }
    const start = encoding.offsets[t][0];
    if (start >= charLabels.length) {
      throw new RangeError(
        `charLabelsToTokenLabels: token ${t} starts at code point ${start}, but charLabels has ${charLabels.length} labels`,
      );
    }
    out.push(start === previousStart ? ignoreLabel : charLabels[start]);
    previousStart = start;
  }
  return out;
}

/** Converts code point offsets of `text` into UTF-16 code unit offsets (for String.prototype.slice). */
export function offsetsToUtf16(text: string, offsets: readonly (readonly [number, number])[]): [number, number][] {
  // unit[i] = UTF-16 index of code point i; one extra entry for the end of the string.
  const unit: number[] = [0];
  for (const ch of text) unit.push(unit[unit.length - 1] + ch.length);
  return offsets.map(([start, end]) => {
    if (end >= unit.length || start > end) {
      throw new RangeError(`offsetsToUtf16: offset [${start}, ${end}) is outside a text of ${unit.length - 1} code points`);
    }
    return [unit[start], unit[end]];
  });
}

/**
 * `text` with the original span of each token in `replacements` (token index -> new text) replaced,
 * e.g. to write a model's corrections back into the user's string, spaces and untouched characters
 * kept as they were. Spans must not overlap (pieces of one decomposed character share a span).
 */
export function replaceTokenSpans(text: string, encoding: Encoding, replacements: ReadonlyMap<number, string>): string {
  const cps = [...text];
  const spans = [...replacements]
    .map(([t, replacement]) => {
      const span = tokenToChars(encoding, t);
      if (span === null) throw new RangeError(`replaceTokenSpans: token ${t} (${encoding.tokens[t]}) has no span in the text`);
      if (span[1] > cps.length) {
        throw new RangeError(`replaceTokenSpans: token ${t} ends at code point ${span[1]}, past the text's ${cps.length}`);
      }
      return { t, start: span[0], end: span[1], replacement };
    })
    .sort((a, b) => a.start - b.start);
  let out = '';
  let at = 0;
  for (const { t, start, end, replacement } of spans) {
    if (start < at) throw new RangeError(`replaceTokenSpans: token ${t} overlaps the span of another replaced token`);
    out += cps.slice(at, start).join('') + replacement;
    at = end;
  }
  return out + cps.slice(at).join('');
}
