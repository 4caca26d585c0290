import { fileURLToPath } from 'node:url';

/**
 * Data shipped with the app (see data/PROVENANCE.md). `src/` and `dist/` sit at the same depth,
 * so the same relative URL works from source and from the build.
 */
const dataDir = fileURLToPath(new URL('../data/', import.meta.url));

export const bundled = {
  dir: dataDir,
  /** minimind's byte-level BPE tokenizer (vocabulary 6,400; Apache-2.0). */
  tokenizer: `${dataDir}tokenizers/minimind`,
} as const;
