import { ApiError } from './api-error';

/** The request limits `parseCorrectRequest` checks (the body size is checked while reading). */
export interface RequestLimits {
  maxTexts: number;
  maxChars: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** Code points in `text` (a lone surrogate counts as one), without building an array. */
function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * The texts of a `POST /v1/correct` body `{"texts": ["...", ...]}`; other fields are ignored.
 * Refuses, in this order: a body that is not UTF-8 JSON (400 malformed_json), a body without a
 * `texts` array (400 invalid_request), more than `maxTexts` texts (422 too_many_texts), a text that
 * is not a string (400 invalid_request) or is longer than `maxChars` code points (422 text_too_long).
 */
export function parseCorrectRequest(body: Uint8Array, limits: RequestLimits): string[] {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch (error) {
    throw new ApiError(400, 'malformed_json', `the request body is not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'invalid_request', `the request body must be a JSON object {"texts": [...]}, got ${typeName(value)}`);
  }
  const texts = (value as { texts?: unknown }).texts;
  if (!Array.isArray(texts)) throw new ApiError(400, 'invalid_request', `"texts" must be an array of strings, got ${texts === undefined ? 'no "texts" field' : typeName(texts)}`);
  if (texts.length > limits.maxTexts) {
    throw new ApiError(422, 'too_many_texts', `the request has ${texts.length} texts; the limit is ${limits.maxTexts} (--max-texts)`, { limit: limits.maxTexts, value: texts.length });
  }
  texts.forEach((text: unknown, i) => {
    if (typeof text !== 'string') throw new ApiError(400, 'invalid_request', `texts[${i}] must be a string, got ${typeName(text)}`);
    const length = codePoints(text);
    if (length > limits.maxChars) {
      throw new ApiError(422, 'text_too_long', `texts[${i}] has ${length} characters (code points); the limit is ${limits.maxChars} (--max-chars)`, { limit: limits.maxChars, value: length });
    }
  });
  return texts as string[];
}
