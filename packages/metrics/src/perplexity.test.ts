import { describe, expect, it } from 'vitest';
import { perplexity } from './perplexity';

describe('perplexity', () => {
  it.each([
    // A uniform model over 4 tokens: NLL per token ln 4, perplexity 4.
    { sumNll: 10 * Math.log(4), tokenCount: 10, expected: 4 },
    { sumNll: 0, tokenCount: 3, expected: 1 },
    // exp(6/3) = e²
    { sumNll: 6, tokenCount: 3, expected: Math.E ** 2 },
  ])('exp($sumNll / $tokenCount) = $expected', ({ sumNll, tokenCount, expected }) => {
    expect(perplexity(sumNll, tokenCount)).toBeCloseTo(expected, 10);
  });

  it.each([
    { sumNll: 1, tokenCount: 0, message: 'perplexity: tokenCount must be a finite number > 0, got 0' },
    { sumNll: 1, tokenCount: -2, message: 'perplexity: tokenCount must be a finite number > 0, got -2' },
    { sumNll: 1, tokenCount: Infinity, message: 'perplexity: tokenCount must be a finite number > 0, got Infinity' },
    { sumNll: Number.NaN, tokenCount: 2, message: 'perplexity: sumNll must be finite, got NaN' },
    { sumNll: Infinity, tokenCount: 2, message: 'perplexity: sumNll must be finite, got Infinity' },
    { sumNll: -1, tokenCount: 2, message: 'perplexity: sumNll must be >= 0 (a negative log-likelihood), got -1' },
  ])('throws for sumNll=$sumNll tokenCount=$tokenCount', ({ sumNll, tokenCount, message }) => {
    expect(() => perplexity(sumNll, tokenCount)).toThrow(message);
  });
});
