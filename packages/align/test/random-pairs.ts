import type { Rng } from '@proj/core';

/** Alphabets for property tests: CJK, ASCII, non-BMP (surrogate pairs), and all mixed. */
export const ALPHABETS: readonly string[][] = [
  Array.from('我朋友唷的了是不在'),
  Array.from('abcXYZ019 '),
  Array.from('𠀀𝒳😀'),
  Array.from('我朋a1𠀀𝒳，。 '),
  Array.from('ab'), // tiny alphabet: many ties and repeated tokens
];

function randomString(rng: Rng, alphabet: readonly string[], maxLength: number): string[] {
  const length = rng.int(maxLength + 1);
  return Array.from({ length }, () => rng.pick(alphabet));
}

/**
 * A random (source, target) pair as code-point arrays: either unrelated strings or a target made
 * by corrupting the source (replace, delete, insert runs up to 8 long), like real correction data.
 */
export function randomPair(rng: Rng): { source: string[]; target: string[] } {
  const alphabet = rng.pick(ALPHABETS);
  const source = randomString(rng, alphabet, rng.bernoulli(0.1) ? 0 : 16);
  if (rng.bernoulli(0.25)) return { source, target: randomString(rng, alphabet, 16) };
  const target = source.slice();
  const edits = rng.int(4);
  for (let e = 0; e < edits; e++) {
    const kind = rng.int(3);
    const at = rng.int(target.length + 1);
    if (kind === 0 && at < target.length) target[at] = rng.pick(alphabet);
    else if (kind === 1 && at < target.length) target.splice(at, 1);
    else target.splice(at, 0, ...Array.from({ length: 1 + rng.int(8) }, () => rng.pick(alphabet)));
  }
  return { source, target };
}
