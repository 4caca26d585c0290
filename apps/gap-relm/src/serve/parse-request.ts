import { parseJsonObject, textsField, type TextLimits } from '@proj/core';

/**
 * The texts of a `POST /v1/correct` body `{"texts": ["...", ...]}`; other fields are ignored.
 * Refuses a body that is not UTF-8 JSON (400 malformed_json), then as `textsField` of @proj/core:
 * no `texts` array (400), too many texts (422 too_many_texts), a text that is not a string (400)
 * or too long (422 text_too_long).
 */
export function parseCorrectRequest(body: Uint8Array, limits: TextLimits): string[] {
  return textsField(parseJsonObject(body, '{"texts": [...]}'), limits);
}
