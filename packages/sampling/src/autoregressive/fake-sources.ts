/**
 * Deterministic causal logits sources for tests (not exported from the package). A model is a
 * function from a full sequence to the next-token logits; `fakeSource` serves it with or without a
 * cache and records every call. The cached variant enforces the `CausalLogitsSource` contract: it
 * throws if it is sent anything but one new token per row with the cache it returned last, so
 * use one cached source per `generate` run.
 */
import { Rng } from '@proj/core';
import type { CausalBatch, CausalLogitsSource } from './logits-source';

export type CausalModel = (sequence: readonly number[]) => ArrayLike<number>;

/** Logits of the next token depend on the last token only: `table[last]`. */
export function bigramModel(table: readonly (readonly number[])[]): CausalModel {
  return (sequence) => table[sequence[sequence.length - 1]];
}

/**
 * Logits depend on the whole sequence: a random permutation of 0 … V-1 (times `scale`) seeded by
 * the sequence, so the logits are distinct (no ties) and any wrong token sent changes them.
 */
export function historyModel(vocabSize: number, seed = 0, scale = 0.5): CausalModel {
  return (sequence) => {
    const rng = Rng.derive(seed, sequence.length, ...sequence);
    const perm = Array.from({ length: vocabSize }, (_, i) => i);
    for (let i = vocabSize - 1; i > 0; i--) {
      const j = Math.floor(rng.float() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    return perm.map((v) => v * scale);
  };
}

interface FakeCache {
  sequences: number[][];
}

export function fakeSource(model: CausalModel, vocabSize: number, { cache }: { cache: boolean }) {
  const calls: CausalBatch[] = [];
  let lastCache: FakeCache | undefined;
  const source: CausalLogitsSource = {
    vocabSize,
    async next(batch) {
      calls.push({ tokens: batch.tokens.map((t) => [...t]), cache: batch.cache });
      let sequences: number[][];
      if (batch.cache === undefined) {
        if (calls.length > 1 && cache) throw new Error('fakeSource: a cached source got a call without its cache');
        sequences = batch.tokens.map((t) => [...t]);
      } else {
        if (!cache) throw new Error('fakeSource: a source without a cache was sent one');
        if (batch.cache !== lastCache) throw new Error('fakeSource: cache is not the one returned last');
        if (batch.tokens.length !== lastCache.sequences.length || batch.tokens.some((t) => t.length !== 1)) {
          throw new Error(`fakeSource: expected one new token per row, got ${JSON.stringify(batch.tokens)}`);
        }
        sequences = lastCache.sequences.map((s, b) => [...s, batch.tokens[b][0]]);
      }
      const logits = new Float32Array(sequences.length * vocabSize);
      sequences.forEach((s, b) => logits.set(model(s), b * vocabSize));
      lastCache = cache ? { sequences } : undefined;
      return lastCache ? { logits, cache: lastCache } : { logits };
    },
  };
  return { source, calls };
}
