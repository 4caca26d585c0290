import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error';
import { JsonFields, parseJsonObject, textsField } from './request-json';
import { addHttpServerOptions, DEFAULT_HTTP_SERVER_CONFIG } from './server-config';

const bytes = (text: string) => new TextEncoder().encode(text);

function refusal(fn: () => unknown): { status: number; code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('no refusal');
}

describe('parseJsonObject', () => {
  it.each([
    ['{"a": ', 400, 'malformed_json', 'not UTF-8 JSON'],
    ['[1]', 400, 'invalid_request', 'must be a JSON object {"x": 1}, got an array'],
    ['null', 400, 'invalid_request', 'got null'],
    ['"s"', 400, 'invalid_request', 'got string'],
  ])('%s: %i %s', (body, status, code, message) => {
    const r = refusal(() => parseJsonObject(bytes(body), '{"x": 1}'));
    expect(r).toMatchObject({ status, code });
    expect(r.message).toContain(message);
  });

  it('refuses bytes that are not UTF-8 and returns an object', () => {
    expect(refusal(() => parseJsonObject(Uint8Array.from([0x7b, 0xff, 0x7d]), '{}')).code).toBe('malformed_json');
    expect(parseJsonObject(bytes('{"a": 1}'), '{}')).toEqual({ a: 1 });
  });
});

describe('JsonFields', () => {
  const f = new JsonFields({ t: 0.5, n: 3, big: 9, frac: 1.5, s: 'x', list: ['a', 'b'], bad: [1], b: true, none: null, neg: -1 });
  it('reads present fields and gives undefined for absent or null ones', () => {
    expect([f.number('t', { min: 0, max: 2 }), f.number('n', { integer: true, min: 1 }), f.string('s'), f.strings('s'), f.strings('list', 4), f.boolean('b')]).toEqual([0.5, 3, 'x', ['x'], ['a', 'b'], true]);
    expect([f.number('none'), f.string('missing'), f.strings('none'), f.boolean('none')]).toEqual([undefined, undefined, undefined, undefined]);
  });
  it.each([
    [() => f.number('big', { min: 0, max: 2 }), '"big" must be a number in [0, 2], got 9'],
    [() => f.number('frac', { integer: true, min: 1 }), '"frac" must be an integer >= 1, got 1.5'],
    [() => f.number('t', { min: 0.5, exclusiveMin: true }), '"t" must be a number > 0.5, got 0.5'],
    [() => f.number('s'), '"s" must be a number, got "x"'],
    [() => f.string('n'), '"n" must be a string, got number'],
    [() => f.strings('bad'), '"bad"[0] must be a string, got number'],
    [() => f.strings('list', 1), '"list" may hold at most 1 strings, got 2'],
    [() => f.boolean('s'), '"s" must be true or false, got "x"'],
  ])('refuses a bad field with 400 naming it (%#)', (read, message) => {
    expect(refusal(read)).toEqual({ status: 400, code: 'invalid_request', message });
  });
});

describe('textsField', () => {
  const limits = { maxTexts: 2, maxChars: 3 };
  it.each([
    [{}, 400, 'invalid_request', 'no "texts" field'],
    [{ texts: 'a' }, 400, 'invalid_request', 'got string'],
    [{ texts: ['a', 'b', 'c'] }, 422, 'too_many_texts', 'the limit is 2 (--max-texts)'],
    [{ texts: ['a', 1] }, 400, 'invalid_request', 'texts[1] must be a string, got number'],
    [{ texts: ['😀😀😀😀'] }, 422, 'text_too_long', 'texts[0] has 4 characters (code points); the limit is 3 (--max-chars)'],
  ])('%j: %i %s', (body, status, code, message) => {
    const r = refusal(() => textsField(body, limits));
    expect(r).toMatchObject({ status, code });
    expect(r.message).toContain(message);
  });
  it('counts code points, not UTF-16 units', () => {
    expect(textsField({ texts: ['😀😀😀', ''] }, limits)).toEqual(['😀😀😀', '']);
  });
});

describe('addHttpServerOptions', () => {
  it('adds --host and the integer flags with their defaults; a bad value is the usage error naming the flag', () => {
    const added: { flags: string; parse?: (v: string) => number; value: unknown }[] = [];
    const target = {
      option(flags: string, _description: string, parseOrDefault: unknown, value?: unknown) {
        added.push(typeof parseOrDefault === 'function' ? { flags, parse: parseOrDefault as (v: string) => number, value } : { flags, value: parseOrDefault });
        return target;
      },
    };
    addHttpServerOptions(target, (message) => new TypeError(message));
    expect(added.map((a) => [a.flags, a.value])).toEqual([
      ['--host <host>', '127.0.0.1'],
      ['--port <n>', 8080],
      ['--max-body-bytes <n>', DEFAULT_HTTP_SERVER_CONFIG.maxBodyBytes],
      ['--shutdown-grace-ms <n>', 10_000],
      ['--headers-timeout-ms <n>', 10_000],
      ['--request-timeout-ms <n>', 30_000],
      ['--keep-alive-timeout-ms <n>', 5_000],
      ['--max-connections <n>', 256],
    ]);
    const port = added[1].parse!;
    expect(port('0')).toBe(0);
    expect(() => port('70000')).toThrow(new TypeError('--port must be an integer in [0, 65535], got "70000"'));
    expect(() => added[2].parse!('0')).toThrow('--max-body-bytes must be an integer >= 1, got "0"');
  });
});
