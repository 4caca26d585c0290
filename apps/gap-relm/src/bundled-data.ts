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
  /**
   * Real learner errors to train on, gzipped, ECSpell format (MIT): the SIGHAN 2013, 2014 and 2015
   * training sets (6,476 pairs) and a 1,000-pair sample of Wang271K.
   */
  learnerFiles: ['sighan13-train', 'sighan14-train', 'sighan15-train', 'wang271k-sample'].map((name) => `${dataDir}learner/${name}.txt.gz`),
} as const;
