// F-scores
export { fbeta, f1, f05, f2, prf, prfFromCounts, type PRF, type PRFCounts } from './fbeta';

// Chinese spelling correction (SIGHAN-style, equal-length)
export { cscMetrics, type CscMetrics, type CscLevel } from './csc';

// Simple sequence metrics
export { exactMatch } from './exact-match';
export { perplexity } from './perplexity';
