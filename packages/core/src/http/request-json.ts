import { describeNumberRule, meetsNumberRule, type NumberRule } from '../number-rule';
import { ApiError } from './api-error';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** How a JSON value is named in an error: `null`, `an array`, `string`, `number`, ... */
export function typeName(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;
}

/** Code points in `text` (a lone surrogate counts as one), without building an array. */
export function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * A request body that must be a UTF-8 JSON object. Refuses a body that is not UTF-8 JSON (400
 * malformed_json) and any other JSON value (400 invalid_request, naming `shape`, e.g. `{"texts": [...]}`).
 */
export function parseJsonObject(body: Uint8Array, shape: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(body));
  } catch (error) {
    throw new ApiError(400, 'malformed_json', `the request body is not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ApiError(400, 'invalid_request', `the request body must be a JSON object ${shape}, got ${typeName(value)}`);
  }
  return value as Record<string, unknown>;
}

const invalid = (message: string) => new ApiError(400, 'invalid_request', message);

/**
 * Optional fields of a JSON request object, checked one by one: an absent field (or `null`) is
 * `undefined`; a field of the wrong type or out of range is 400 invalid_request naming the field,
 * the rule and the value (`"temperature" must be a number in [0, 2], got 3`).
 */
export class JsonFields {
  constructor(readonly body: Record<string, unknown>) {}

  has(name: string): boolean {
    return this.body[name] !== undefined && this.body[name] !== null;
  }

  number(name: string, rule: NumberRule = {}): number | undefined {
    if (!this.has(name)) return undefined;
    const value = this.body[name];
    if (typeof value !== 'number' || !meetsNumberRule(value, rule)) throw invalid(`"${name}" must be ${describeNumberRule(rule)}, got ${JSON.stringify(value)}`);
    return value;
  }

  boolean(name: string): boolean | undefined {
    if (!this.has(name)) return undefined;
    const value = this.body[name];
    if (typeof value !== 'boolean') throw invalid(`"${name}" must be true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  string(name: string): string | undefined {
    if (!this.has(name)) return undefined;
    const value = this.body[name];
    if (typeof value !== 'string') throw invalid(`"${name}" must be a string, got ${typeName(value)}`);
    return value;
  }

  /** A string or an array of strings (as a list), e.g. `stop`; `maxItems` bounds the list. */
  strings(name: string, maxItems = Infinity): string[] | undefined {
    if (!this.has(name)) return undefined;
    const value = this.body[name];
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list)) throw invalid(`"${name}" must be a string or an array of strings, got ${typeName(value)}`);
    list.forEach((item: unknown, i) => {
      if (typeof item !== 'string') throw invalid(`"${name}"[${i}] must be a string, got ${typeName(item)}`);
    });
    if (list.length > maxItems) throw invalid(`"${name}" may hold at most ${maxItems} strings, got ${list.length}`);
    return list as string[];
  }
}

/** Limits on the texts of one request (flags `--max-texts`, `--max-chars`). */
export interface TextLimits {
  maxTexts: number;
  maxChars: number;
}

/**
 * The `texts` array of a request object. Refuses, in this order: no `texts` array (400
 * invalid_request), more than `maxTexts` texts (422 too_many_texts), a text that is not a string
 * (400 invalid_request) or is longer than `maxChars` code points (422 text_too_long).
 */
export function textsField(body: Record<string, unknown>, limits: TextLimits): string[] {
  const texts = body.texts;
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
