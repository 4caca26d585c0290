/** Why a corpus line was not kept as a document (counted in stats.json by reason). */
export type DocumentReject = 'bad_json' | 'not_object' | 'missing_field' | 'not_string' | 'empty' | 'control_chars' | 'invalid_utf8' | 'invalid_unicode';

export type DocumentResult = { ok: true; text: string } | { ok: false; reason: DocumentReject; message: string };

export type CorpusFormat = 'jsonl' | 'text';

// C0 and C1 controls except tab, line feed and carriage return (matching them is the point).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/u;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * One corpus line to a clean document: a JSONL record's string `field` (or the whole line for
 * plain text), line breaks normalized to LF and surrounding whitespace trimmed. Refuses, with a
 * reason, bad JSON, a missing / non-string / empty field, control characters, bytes that were not
 * UTF-8 (U+FFFD after decoding) and lone surrogates (from JSON escapes).
 */
export function cleanDocument(raw: string, format: CorpusFormat, field = 'text'): DocumentResult {
  let text: string;
  if (format === 'jsonl') {
    let record: unknown;
    try {
      record = JSON.parse(raw);
    } catch (error) {
      return { ok: false, reason: 'bad_json', message: `invalid JSON: ${(error as Error).message}` };
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      return { ok: false, reason: 'not_object', message: 'expected a JSON object' };
    }
    const value = (record as Record<string, unknown>)[field];
    if (value === undefined) return { ok: false, reason: 'missing_field', message: `no field "${field}"` };
    if (typeof value !== 'string') return { ok: false, reason: 'not_string', message: `field "${field}" is ${value === null ? 'null' : typeof value}, not a string` };
    text = value;
  } else {
    text = raw;
  }
  if (text.includes('\uFFFD')) return { ok: false, reason: 'invalid_utf8', message: 'holds U+FFFD (bytes that are not UTF-8?)' };
  if (LONE_SURROGATE.test(text)) return { ok: false, reason: 'invalid_unicode', message: 'holds a lone surrogate' };
  const control = CONTROL.exec(text);
  if (control) {
    const code = control[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
    return { ok: false, reason: 'control_chars', message: `control character U+${code} at ${control.index}` };
  }
  text = text.replace(/\r\n?/g, '\n').trim();
  if (text === '') return { ok: false, reason: 'empty', message: format === 'jsonl' ? `field "${field}" is empty` : 'empty line' };
  return { ok: true, text };
}
