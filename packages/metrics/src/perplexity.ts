/**
 * Perplexity = exp(sumNll / tokenCount), where `sumNll` is the summed negative log-likelihood
 * in nats over `tokenCount` predicted tokens.
 */
export function perplexity(sumNll: number, tokenCount: number): number {
  if (!Number.isFinite(sumNll)) {
    throw new RangeError(`perplexity: sumNll must be finite, got ${sumNll}`);
  }
  if (sumNll < 0) {
    // A summed NLL below zero means probabilities above 1: the caller passed log-probs, not NLL.
    throw new RangeError(`perplexity: sumNll must be >= 0 (a negative log-likelihood), got ${sumNll}`);
  }
  if (!Number.isFinite(tokenCount) || tokenCount <= 0) {
    throw new RangeError(`perplexity: tokenCount must be a finite number > 0, got ${tokenCount}`);
  }
  return Math.exp(sumNll / tokenCount);
}
