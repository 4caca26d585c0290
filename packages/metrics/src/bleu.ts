import { rstripPython, splitPythonWhitespace } from './python-strings';
import { tokenize13a, tokenizeZh } from './sacrebleu-tokenizers';

/** Options of {@link corpusBleu}; the defaults are sacreBLEU's. */
export interface BleuOptions {
  /** '13a' (sacreBLEU default), 'zh' (split CJK chars, then 13a rules) or 'none' (split on whitespace). */
  tokenize?: '13a' | 'zh' | 'none';
  /** Lowercase hypotheses and references first (default false: case-sensitive). */
  lowercase?: boolean;
  /** 'exp' (default; mteval's NIST smoothing) or 'none'. */
  smooth?: 'exp' | 'none';
}

/** Corpus BLEU and its sufficient statistics, with sacreBLEU's field names and scales (0–100). */
export interface BleuResult {
  /** BLEU in [0, 100]. */
  score: number;
  /** Smoothed n-gram precisions for n = 1..4, in [0, 100]. */
  precisions: number[];
  /** Brevity penalty in [0, 1]. */
  bp: number;
  /** Total hypothesis tokens. */
  sys_len: number;
  /** Total closest-reference tokens. */
  ref_len: number;
  /** Clipped n-gram matches for n = 1..4. */
  counts: number[];
  /** Hypothesis n-grams for n = 1..4. */
  totals: number[];
}

const MAX_ORDER = 4;
// sacrebleu's my_log: log(0) is floored so that exp() of the mean gives 0 instead of NaN.
const LOG_ZERO = -9999999999;

function ngramCounts(tokens: string[]): Map<string, number>[] {
  const byOrder: Map<string, number>[] = [];
  for (let n = 1; n <= MAX_ORDER; n++) {
    const counts = new Map<string, number>();
    // Tokens never contain spaces, so a space-joined key is unambiguous within one order.
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    byOrder.push(counts);
  }
  return byOrder;
}

/** The reference length closest to the hypothesis length; ties go to the shorter reference. */
function closestRefLength(hypLen: number, refLens: number[]): number {
  let best = refLens[0];
  for (const len of refLens) {
    const diff = Math.abs(hypLen - len);
    const bestDiff = Math.abs(hypLen - best);
    if (diff < bestDiff || (diff === bestDiff && len < best)) best = len;
  }
  return best;
}

/**
 * Corpus-level BLEU, matching `sacrebleu.corpus_bleu` with default settings (max order 4,
 * 'exp' smoothing, closest reference length, case-sensitive, 13a tokenization).
 *
 * `references[i]` lists the references of `hypotheses[i]` (one or more; the count may vary by
 * sentence). Note that sacreBLEU takes the transpose: one stream per reference.
 */
export function corpusBleu(
  hypotheses: readonly string[],
  references: readonly (readonly string[])[],
  options: BleuOptions = {},
): BleuResult {
  const { tokenize = '13a', lowercase = false, smooth = 'exp' } = options;
  if (references.length !== hypotheses.length) {
    throw new RangeError(`corpusBleu: references has ${references.length} entries but hypotheses has ${hypotheses.length}`);
  }
  if (!['13a', 'zh', 'none'].includes(tokenize)) {
    throw new RangeError(`corpusBleu: options.tokenize must be '13a', 'zh' or 'none', got ${String(tokenize)}`);
  }
  if (smooth !== 'exp' && smooth !== 'none') {
    throw new RangeError(`corpusBleu: options.smooth must be 'exp' or 'none', got ${String(smooth)}`);
  }
  const tokenizer = tokenize === '13a' ? tokenize13a : tokenize === 'zh' ? tokenizeZh : (s: string) => s;
  // sacrebleu: optional lowercasing, then rstrip, then the tokenizer; n-grams split on whitespace.
  const toTokens = (s: string): string[] => splitPythonWhitespace(tokenizer(rstripPython(lowercase ? s.toLowerCase() : s)));

  const counts = new Array<number>(MAX_ORDER).fill(0);
  const totals = new Array<number>(MAX_ORDER).fill(0);
  let sysLen = 0;
  let refLen = 0;
  for (let i = 0; i < hypotheses.length; i++) {
    const refs = references[i];
    if (refs.length === 0) {
      throw new RangeError(`corpusBleu: references[${i}] is empty; every hypothesis needs at least one reference`);
    }
    // Clip each hypothesis n-gram by its largest count in any single reference.
    const maxRef: Map<string, number>[] = Array.from({ length: MAX_ORDER }, () => new Map());
    const refLens: number[] = [];
    for (const ref of refs) {
      const tokens = toTokens(ref);
      refLens.push(tokens.length);
      ngramCounts(tokens).forEach((m, n) => {
        for (const [key, c] of m) if (c > (maxRef[n].get(key) ?? 0)) maxRef[n].set(key, c);
      });
    }
    const hyp = toTokens(hypotheses[i]);
    sysLen += hyp.length;
    refLen += closestRefLength(hyp.length, refLens);
    ngramCounts(hyp).forEach((m, n) => {
      for (const [key, c] of m) {
        totals[n] += c;
        counts[n] += Math.min(c, maxRef[n].get(key) ?? 0);
      }
    });
  }
  return bleuFromStats(counts, totals, sysLen, refLen, smooth);
}

/** sacrebleu's `BLEU.compute_bleu`, with the same operation order so scores agree to ~1e-13. */
function bleuFromStats(counts: number[], totals: number[], sysLen: number, refLen: number, smooth: 'exp' | 'none'): BleuResult {
  let bp = 1;
  if (sysLen < refLen) bp = sysLen > 0 ? Math.exp(1 - refLen / sysLen) : 0;
  const precisions = new Array<number>(MAX_ORDER).fill(0);
  const result = { precisions, bp, sys_len: sysLen, ref_len: refLen, counts, totals };
  if (counts.every((c) => c === 0)) return { score: 0, ...result };

  let smoothing = 1;
  for (let n = 0; n < MAX_ORDER; n++) {
    // No n-grams of this order anywhere: this and higher precisions stay 0, so BLEU is 0.
    if (totals[n] === 0) break;
    if (counts[n] === 0) {
      if (smooth === 'exp') {
        // NIST smoothing: the k-th order with no match gets 1 / (2^k · total).
        smoothing *= 2;
        precisions[n] = 100 / (smoothing * totals[n]);
      }
    } else {
      precisions[n] = (100 * counts[n]) / totals[n];
    }
  }
  let logSum = 0;
  for (const p of precisions) logSum += p === 0 ? LOG_ZERO : Math.log(p);
  return { score: bp * Math.exp(logSum / MAX_ORDER), ...result };
}
