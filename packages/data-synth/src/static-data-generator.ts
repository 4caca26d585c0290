import { Rng } from '@proj/core';
import type { Corruption, ErrorGenerator } from './error-generator';

/**
 * Fixed ("static") training data: for each clean sentence, in this order,
 * copy 0 = the positive (source == target), then copies 1..num_negative = corruptions, each from
 * its own stream `Rng.derive(seed, sentenceIndex, copy)`. `p_corrupt` is not used here: the
 * positive/negative mix is 1 : num_negative by construction.
 */
export class StaticDataGenerator {
  constructor(readonly generator: ErrorGenerator) {}

  /** The 1 + num_negative pairs for sentence `sentenceIndex` (0-based index among the clean sentences). */
  corruptionsFor(text: string, sentenceIndex: number): Corruption[] {
    const { seed, num_negative } = this.generator.config;
    const out: Corruption[] = [{ source: text, target: text, edits: [] }];
    for (let copy = 1; copy <= num_negative; copy++) {
      out.push(this.generator.corruptWithType(text, Rng.derive(seed, sentenceIndex, copy)));
    }
    return out;
  }

  /** All pairs for a sequence of sentences numbered from `startIndex`. */
  *generate(sentences: Iterable<string>, startIndex = 0): Generator<Corruption> {
    let index = startIndex;
    for (const text of sentences) yield* this.corruptionsFor(text, index++);
  }
}
