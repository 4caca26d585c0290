import { fileURLToPath } from 'node:url';

/**
 * Data shipped with the app (see data/PROVENANCE.md). `src/` and `dist/` sit at the same depth,
 * so the same relative URLs work from source and from the build. The Wikipedia sentences are
 * gap-relm's bundled copy, read in place in this repository (not duplicated).
 */
export const bundled = {
  /** PAWS-X zh dev paraphrase pairs (label 1), PAWS-X terms: free for any purpose. */
  paws: fileURLToPath(new URL('../data/paws-x-zh-dev-positives.tsv', import.meta.url)),
  /** 46,605 Chinese Wikipedia sentences (CC0), bundled with gap-relm. */
  wiki: fileURLToPath(new URL('../../gap-relm/data/corpus/wiki.zh-cn.txt', import.meta.url)),
} as const;
