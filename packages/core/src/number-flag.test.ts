import { describe, expect, it } from 'vitest';
import { CliError } from './cli-io';
import { numberFlag } from './number-flag';

/** The message `parse(value)` throws, or a failure when it returns. */
function refusal(parse: (value: string) => number, value: string): string {
  let parsed: number;
  try {
    parsed = parse(value);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(value)} as ${parsed}`);
}

describe('numberFlag', () => {
  it('parses integers for an integer flag', () => {
    const parse = numberFlag('--seed', { integer: true });
    expect(['42', '0', '-7', '1e3', ' 5 '].map(parse)).toEqual([42, 0, -7, 1000, 5]);
  });

  it('parses floats for a number flag', () => {
    const parse = numberFlag('--temperature', { min: 0 });
    expect(['0.7', '0', '2', '1e-3', '.5'].map(parse)).toEqual([0.7, 0, 2, 0.001, 0.5]);
  });

  it('refuses a fraction for an integer flag, naming the flag and the value', () => {
    expect(refusal(numberFlag('--batch-size', { integer: true, min: 1 }), '1.5')).toBe('--batch-size must be an integer >= 1, got "1.5"');
  });

  it.each(['', '   ', 'abc', '12abc', '1e999', '-1e999', 'Infinity', '-Infinity', 'NaN'])('refuses %j: not a finite number', (value) => {
    expect(refusal(numberFlag('--guidance'), value)).toBe(`--guidance must be a number, got ${JSON.stringify(value)}`);
    expect(refusal(numberFlag('--steps', { integer: true, min: 0 }), value)).toBe(`--steps must be an integer >= 0, got ${JSON.stringify(value)}`);
  });

  it('refuses a value below the minimum and keeps the minimum itself', () => {
    const parse = numberFlag('--max-texts', { integer: true, min: 1 });
    expect(parse('1')).toBe(1);
    expect(refusal(parse, '0')).toBe('--max-texts must be an integer >= 1, got "0"');
    expect(refusal(parse, '-3')).toBe('--max-texts must be an integer >= 1, got "-3"');
  });

  it('honours an exclusive minimum, a maximum and an exclusive maximum', () => {
    const positive = numberFlag('--beta', { min: 0, exclusiveMin: true });
    expect(positive('0.5')).toBe(0.5);
    expect(refusal(positive, '0')).toBe('--beta must be a number > 0, got "0"');

    const port = numberFlag('--port', { integer: true, min: 0, max: 65535 });
    expect([port('0'), port('65535')]).toEqual([0, 65535]);
    expect(refusal(port, '65536')).toBe('--port must be an integer in [0, 65535], got "65536"');

    const share = numberFlag('--learner-share', { min: 0, max: 1, exclusiveMax: true });
    expect(share('0.99')).toBe(0.99);
    expect(refusal(share, '1')).toBe('--learner-share must be a number in [0, 1), got "1"');

    const atMost = numberFlag('--ratio', { max: 1 });
    expect(atMost('-5')).toBe(-5);
    expect(refusal(atMost, '1.01')).toBe('--ratio must be a number <= 1, got "1.01"');
  });

  it('keeps the message on one line whatever the value holds', () => {
    const message = refusal(numberFlag('--seed', { integer: true }), '4\n2');
    expect(message).toBe('--seed must be an integer, got "4\\n2"');
    expect(message).not.toContain('\n');
  });

  it('throws a CliError by default, else the error usageError makes', () => {
    expect(() => numberFlag('--seed')('x')).toThrow(CliError);
    class UsageError extends Error {}
    const parse = numberFlag('--seed', { integer: true }, (message) => new UsageError(`usage: ${message}`));
    expect(() => parse('x')).toThrow(new UsageError('usage: --seed must be an integer, got "x"'));
    expect(() => parse('x')).toThrow(UsageError);
  });
});
