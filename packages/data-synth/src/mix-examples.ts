import type { Rng } from '@proj/core';

/**
 * Mixes a small set of real examples into a larger synthetic set so that the real ones make up
 * `share` of the result: every synthetic example once, the real ones repeated in passes (each pass
 * a fresh shuffle, so no example comes twice before every other has come once), then the whole
 * list shuffled. `share` 0 returns the synthetic examples unchanged.
 *
 * Real learner errors are few (SIGHAN 2013–2015 training sets: about 6,500 pairs) and synthetic
 * ones unlimited; oversampling the real ones is how a fixed budget sees enough of them.
 */
export function mixExamples<T>(synthetic: readonly T[], real: readonly T[], share: number, rng: Rng): T[] {
  if (!(share >= 0 && share < 1)) throw new RangeError(`mixExamples: share must be in [0, 1), got ${share}`);
  if (share === 0) return [...synthetic];
  if (real.length === 0) throw new RangeError(`mixExamples: share is ${share} but there are no real examples`);
  if (synthetic.length === 0) throw new RangeError('mixExamples: no synthetic examples to mix into (share < 1 needs some)');
  const wanted = Math.round((synthetic.length * share) / (1 - share));
  const mixed = [...synthetic];
  for (let taken = 0; taken < wanted; ) {
    const pass = rng.shuffle([...real]);
    for (const example of pass.slice(0, wanted - taken)) mixed.push(example);
    taken += Math.min(pass.length, wanted - taken);
  }
  return rng.shuffle(mixed);
}
