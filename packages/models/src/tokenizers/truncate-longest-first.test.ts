import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { truncateLongestFirst } from './truncate-longest-first';

// [lengthA, lengthB, max_length, keptA, keptB] measured on transformers' fast tokenizer (3 special tokens).
const table: number[][] = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../test/fixtures/tokenizers/cases.json', import.meta.url)), 'utf8'),
).truncation;

describe('truncateLongestFirst', () => {
  it('has the measured table', () => {
    expect(table.length).toBeGreaterThan(500);
  });

  it.each(table)('A=%i B=%i max_length=%i keeps [%i, %i]', (a, b, maxLength, keptA, keptB) => {
    expect(truncateLongestFirst(a, b, maxLength - 3)).toEqual([keptA, keptB]);
  });

  it.each([
    [-1, 2, 3, /lengthA must be an integer >= 0, got -1/],
    [1, 2.5, 3, /lengthB must be an integer >= 0, got 2.5/],
    [1, 2, -1, /target must be an integer >= 0, got -1/],
  ])('refuses (%s, %s, %s)', (a, b, t, message) => {
    expect(() => truncateLongestFirst(a, b, t)).toThrow(message);
  });
});
