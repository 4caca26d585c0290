// F-scores
export { fbeta, f1, f05, f2, prf, prfFromCounts, type PRF, type PRFCounts } from './fbeta';

// Chinese spelling correction (SIGHAN-style, equal-length)
export { cscMetrics, type CscMetrics, type CscLevel } from './csc';

// Simple sequence metrics
export { exactMatch } from './exact-match';
export { perplexity } from './perplexity';
export { distinctN, copiesPrompt, loops, repetitionReport, type RepetitionReport } from './repetition';

// Chinese grammatical error correction (ChERRANT span-based P/R/F0.5)
export { parseM2, M2_NONE, type M2Edit, type M2Sentence } from './cgec/m2';
export { compareM2, cherrantPRF, type CgecScore, type CompareM2Options } from './cgec/compare-m2';
export { extractCharEdits, type SpanEdit } from './cgec/char-edits';
export { cgecScore, CGEC_NO_ERROR, CGEC_UNANNOTATABLE } from './cgec/cgec-score';

// Corpus BLEU (sacreBLEU-compatible)
export { corpusBleu, type BleuOptions, type BleuResult } from './bleu';
export { tokenize13a, tokenizeZh, isSacrebleuChineseChar } from './sacrebleu-tokenizers';
