import type { SamplingControls } from './generation-config';
import { processLogits } from './logits-processors';
import { greedyToken, sampleToken, type RandomSource } from './sampler';

/**
 * The next token of one row: the active logits processors on a copy of `logits` (which is left
 * as it is), then the argmax, or, with `controls.doSample`, one draw from `rng` (exactly one
 * `rng.float()`). `tokens` is the row so far (prompt + generated), read by the repetition
 * penalty and the n-gram ban. This is the step `generate` takes for each unfinished row; `fn`
 * names the caller in errors.
 */
export function pickToken(logits: Float32Array, tokens: readonly number[], controls: SamplingControls, rng?: RandomSource, fn = 'pickToken'): number {
  if (controls.doSample && rng === undefined) throw new TypeError(`${fn}: doSample is true but no rng was given (pass new Rng(seed))`);
  const row = processLogits(logits.slice(), tokens, controls);
  return controls.doSample ? sampleToken(row, rng!, fn) : greedyToken(row, fn);
}
