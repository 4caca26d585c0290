import { Rng } from '@proj/core';
import type { Corruption, ErrorGenerator } from './error-generator';

/**
 * Fresh errors every epoch: sentence `index` in epoch `epoch` is `maybeCorrupt` with the stream
 * `Rng.derive(seed, epoch, index)`. The result depends on (seed, epoch, index, text) only, so any
 * split of the work across threads or machines gives the same data, and a resumed run replays it.
 */
export class OnlineAugmenter {
  constructor(readonly generator: ErrorGenerator) {}

  corruption(text: string, epoch: number, index: number): Corruption {
    return this.generator.maybeCorrupt(text, Rng.derive(this.generator.config.seed, epoch, index));
  }

  /** One epoch over `sentences`, numbered from `startIndex`. */
  *epoch(sentences: Iterable<string>, epoch: number, startIndex = 0): Generator<Corruption> {
    let index = startIndex;
    for (const text of sentences) yield this.corruption(text, epoch, index++);
  }
}
