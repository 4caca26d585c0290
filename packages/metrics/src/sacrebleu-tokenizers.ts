/**
 * Ports of sacreBLEU's `13a` and `zh` tokenizers (sacrebleu 2.x, `tokenizers/tokenizer_13a.py`,
 * `tokenizer_re.py`, `tokenizer_zh.py`). Written against Python semantics: strings are walked by
 * code point, and "whitespace" is Python's `str.isspace()` set (see python-strings.ts).
 */
import { splitPythonWhitespace, stripPython } from './python-strings';

// The shared "regexp" post-tokenizer used by both 13a and zh, applied in this order.
const POST_RULES: [RegExp, string][] = [
  // Split off ASCII symbols: { | } ~ [ \ ] ^ _ ` space ! " # $ % & ( ) * + : ; < = > ? @ /
  // (not ' - . , which are handled below or kept inside words).
  [/([\x7B-\x7E\x5B-\x60\x20-\x26\x28-\x2B\x3A-\x40\x2F])/gu, ' $1 '],
  // Period and comma, unless preceded by a digit ...
  [/([^0-9])([.,])/gu, '$1 $2 '],
  // ... or unless followed by a digit: 1,000.5 stays one token.
  [/([.,])([^0-9])/gu, ' $1 $2'],
  // Dash after a digit: 3-4 -> 3 - 4 (but x-y stays).
  [/([0-9])(-)/gu, '$1 $2 '],
];

function postTokenize(line: string): string {
  for (const [re, replacement] of POST_RULES) line = line.replace(re, replacement);
  return splitPythonWhitespace(line).join(' ');
}

/** sacreBLEU `13a` (mteval-v13a): un-escape a few HTML entities, then split punctuation. */
export function tokenize13a(line: string): string {
  line = line.replaceAll('<skipped>', '').replaceAll('-\n', '').replaceAll('\n', ' ');
  if (line.includes('&')) {
    line = line.replaceAll('&quot;', '"').replaceAll('&amp;', '&').replaceAll('&lt;', '<').replaceAll('&gt;', '>');
  }
  return postTokenize(` ${line} `);
}

/**
 * Code-point ranges sacreBLEU's zh tokenizer treats as Chinese and splits into single tokens.
 * This is the effective behaviour, not the intended one: sacrebleu writes two of its ranges as
 * `'\u20000'`..`'\u2a6d6'` and `'\u2f800'`..`'\u2fa1d'`, which Python reads as two-character
 * strings, so they compare as U+2001..U+2A6D and U+2F81..U+2FA1. That puts general punctuation
 * (“ ” … —), arrows and symbols in, and leaves CJK Extension B (U+20000 and up) out.
 * test/fixtures/bleu-sacrebleu.json records sacrebleu's own answer for every code point.
 */
const ZH_RANGES: readonly [number, number][] = [
  [0x3400, 0x4db5], // CJK Unified Ideographs Extension A
  [0x4e00, 0x9fa5], // CJK Unified Ideographs
  [0x9fa6, 0x9fbb], // CJK Unified Ideographs, release 4.1
  [0xf900, 0xfa2d], // CJK Compatibility Ideographs
  [0xfa30, 0xfa6a],
  [0xfa70, 0xfad9],
  [0x2001, 0x2a6d], // meant as Extension B U+20000..U+2A6D6 (see above)
  [0x2f81, 0x2fa1], // meant as Compatibility Supplement U+2F800..U+2FA1D (see above)
  [0xff00, 0xffef], // full-width ASCII and punctuation, half-width kana, Hangul
  [0x2e80, 0x2eff], // CJK Radicals Supplement
  [0x3000, 0x303f], // CJK punctuation
  [0x31c0, 0x31ef], // CJK strokes
  [0x2f00, 0x2fdf], // Kangxi radicals
  [0x2ff0, 0x2fff], // ideographic description characters
  [0x3100, 0x312f], // Bopomofo
  [0x31a0, 0x31bf], // Bopomofo extended
  [0xfe10, 0xfe1f], // vertical forms
  [0xfe30, 0xfe4f], // CJK compatibility forms
  [0x2600, 0x26ff], // miscellaneous symbols
  [0x2700, 0x27bf], // dingbats
  [0x3200, 0x32ff], // enclosed CJK letters and months
  [0x3300, 0x33ff], // CJK compatibility
];

/** Whether sacreBLEU's zh tokenizer splits this code point off as its own token. */
export function isSacrebleuChineseChar(codePoint: number): boolean {
  for (const [lo, hi] of ZH_RANGES) if (codePoint >= lo && codePoint <= hi) return true;
  return false;
}

/**
 * sacreBLEU `zh`: put spaces around every "Chinese" code point, then the 13a post-tokenizer
 * (without 13a's entity un-escaping, as in sacrebleu).
 */
export function tokenizeZh(line: string): string {
  let spaced = '';
  for (const ch of stripPython(line)) {
    spaced += isSacrebleuChineseChar(ch.codePointAt(0)!) ? ` ${ch} ` : ch;
  }
  return postTokenize(spaced);
}
