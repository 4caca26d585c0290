import { fileURLToPath } from 'node:url';

/**
 * Data shipped with the app (see data/PROVENANCE.md). `src/` and `dist/` sit at the same depth,
 * so the same relative URL works from source and from the build.
 */
const dataDir = fileURLToPath(new URL('../data/', import.meta.url));

export const bundled = {
  dir: dataDir,
  /** 46,605 clean sentences from Chinese Wikipedia (CC0). */
  corpus: `${dataDir}corpus/wiki.zh-cn.txt`,
  /** pycorrector's same-pinyin and same-stroke confusion sets (Apache-2.0). */
  confusionFiles: [`${dataDir}confusion/same_pinyin.txt`, `${dataDir}confusion/same_stroke.txt`],
  /** SIGHAN-15 test, simplified, ECSpell format (MIT). */
  sighan15Test: `${dataDir}sighan/sighan15-test.txt`,
} as const;
