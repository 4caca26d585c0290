import { labelsFromAlignment, tokenize, type AlignStep, type LabelResult } from '@proj/align';
import type { Rng } from '@proj/core';
import type { ConfusionSet } from './confusion-set';
import { LengthAdaptiveLambda } from './length-adaptive-lambda';
import { parseSynthConfig, type SynthConfig, type SynthConfigInput } from './synth-config';
import { TruncatedPoisson } from './truncated-poisson';

/**
 * One error the generator made. `position` is a code-point index into the clean text (`target`);
 * `char` is the clean character there.
 */
export type SynthEdit =
  /** The character is missing from the source; the model must insert it. */
  | { type: 'skip'; position: number; char: string }
  /** The character appears `1 + count` times in the source; the model must delete `count` copies. */
  | { type: 'multiply'; position: number; char: string; count: number }
  /** The source has `replacement` (a confusable character) instead of `char`. */
  | { type: 'replace'; position: number; char: string; replacement: string };

export type SynthEditType = SynthEdit['type'];

/** Why a sentence that should have been corrupted stayed clean. */
export type UncorruptibleReason =
  /** Fewer code points than `min_sentence_length`. */
  | 'too_short'
  /** Only replace has weight and no character of the sentence has a confusable character. */
  | 'no_confusable'
  /** No position admits any error type with weight (e.g. no Han character outside a run). */
  | 'no_eligible_position';

/** A (source, target) pair with the edits that turn `target` into `source`. */
export interface Corruption {
  /** The corrupted text (what the model sees). */
  source: string;
  /** The clean sentence. */
  target: string;
  /** Sorted by position, at pairwise non-adjacent positions; empty for a positive. */
  edits: SynthEdit[];
  /** Set when corruption was asked for but impossible; the pair is then a positive. */
  uncorruptible?: UncorruptibleReason;
}

const HAN = /^\p{Script=Han}$/u;
const TYPES: readonly SynthEditType[] = ['skip', 'multiply', 'replace'];

/**
 * Seeded synthetic errors for Chinese spelling / grammar correction.
 *
 * Per sentence (`corruptWithType`):
 * 1. Positions: a position is eligible when some error type with weight is possible there:
 *    skip / multiply need a Han character that differs from both neighbours (inside a run like
 *    "谢谢" the edited copy would be ambiguous and a skip and a multiply in one run could cancel);
 *    replace needs a character with confusables.
 * 2. Count: k ~ TruncatedPoisson(lambda(length), 1, min(max_edits_per_sent, feasible)), where
 *    feasible is the largest set of pairwise non-adjacent eligible positions.
 * 3. k positions, uniformly among the non-adjacent subsets of eligible positions. Non-adjacent
 *    edits never interact: every insertion run is 1 long (so labels never exceed max_insert_k) and
 *    the labelled edit count equals the Levenshtein distance (checked by the property test).
 * 4. Per position, a type by categorical(pi_skip, pi_multiply, pi_replace) over the types
 *    possible there; multiply repeats 1..max_insert_k extra times; replace picks a confusable.
 *
 * `p_corrupt` is applied by `maybeCorrupt` (online and frozen-dev data): with probability
 * p_corrupt the sentence is corrupted, otherwise it is a positive (source == target).
 */
export class ErrorGenerator {
  readonly config: SynthConfig;
  private readonly lambda: LengthAdaptiveLambda;
  private readonly weights: readonly number[];
  private readonly poissonCache = new Map<string, TruncatedPoisson>();

  constructor(
    config: SynthConfigInput,
    readonly confusion: ConfusionSet,
  ) {
    this.config = parseSynthConfig(config, 'ErrorGenerator');
    this.lambda = new LengthAdaptiveLambda(this.config);
    this.weights = [this.config.pi_skip, this.config.pi_multiply, this.config.pi_replace];
  }

  /** With probability p_corrupt, `corruptWithType`; otherwise a positive. Draws one float first. */
  maybeCorrupt(text: string, rng: Rng): Corruption {
    return rng.float() < this.config.p_corrupt ? this.corruptWithType(text, rng) : positive(text);
  }

  /** Corrupts `text` (see the class comment); an impossible sentence comes back as a positive with a reason. */
  corruptWithType(text: string, rng: Rng): Corruption {
    const chars = tokenize(text);
    const n = chars.length;
    if (n < this.config.min_sentence_length) return positive(text, 'too_short');
    const [wSkip, wMultiply, wReplace] = this.weights;

    // 1. What is possible where (bit 0 skip, bit 1 multiply, bit 2 replace).
    const possible = new Uint8Array(n);
    let sawConfusable = false;
    for (let i = 0; i < n; i++) {
      const c = chars[i];
      if ((wSkip > 0 || wMultiply > 0) && HAN.test(c) && chars[i - 1] !== c && chars[i + 1] !== c) {
        if (wSkip > 0 && n > 1) possible[i] |= 1;
        if (wMultiply > 0) possible[i] |= 2;
      }
      if (wReplace > 0 && this.confusion.has(c)) {
        possible[i] |= 4;
        sawConfusable = true;
      }
    }

    // 2. How many edits: at most the largest non-adjacent eligible set (greedy is optimal on a line).
    let feasible = 0;
    for (let i = 0; i < n; i++) {
      if (possible[i] !== 0) {
        feasible++;
        i++;
      }
    }
    if (feasible === 0) return positive(text, wSkip === 0 && wMultiply === 0 && !sawConfusable ? 'no_confusable' : 'no_eligible_position');
    const k = this.poisson(this.lambda.at(n), Math.min(this.config.max_edits_per_sent, feasible)).sample(rng);

    // 3. Which positions, then 4. which error at each.
    const positions = sampleNonAdjacent(possible, k, rng);
    const edits: SynthEdit[] = [];
    const weights = [0, 0, 0];
    // Characters already skipped / multiplied: a skip and a multiply of the same character would
    // let an alignment move that character instead (e.g. 医公医 → 公医医医 costs 2, not 1 + 2).
    const skipped = new Set<string>();
    const multiplied = new Set<string>();
    for (const position of positions) {
      const char = chars[position];
      for (let t = 0; t < 3; t++) weights[t] = possible[position] & (1 << t) ? this.weights[t] : 0;
      // Both indel types are possible here, so banning one still leaves the other.
      if (multiplied.has(char)) weights[0] = 0;
      if (skipped.has(char)) weights[1] = 0;
      switch (TYPES[rng.categorical(weights)]) {
        case 'skip':
          skipped.add(char);
          edits.push({ type: 'skip', position, char });
          break;
        case 'multiply':
          multiplied.add(char);
          edits.push({ type: 'multiply', position, char, count: 1 + rng.int(this.config.max_insert_k) });
          break;
        case 'replace':
          edits.push({ type: 'replace', position, char, replacement: rng.pick(this.confusion.get(char)) });
          break;
      }
    }
    return { source: applyEdits(chars, edits), target: text, edits };
  }

  /**
   * Planner labels straight from the edits, with no alignment search: the edit list already is an
   * alignment of source to target (skip ⇒ insert, multiply ⇒ keep + deletes, replace ⇒ replace).
   */
  toExample(corruption: Corruption, options: { maxInsertK?: number } = {}): LabelResult {
    const target = tokenize(corruption.target);
    const source = tokenize(corruption.source);
    return labelsFromAlignment(source, target, alignmentFromEdits(target.length, corruption.edits), {
      maxInsertK: options.maxInsertK ?? this.config.max_insert_k,
      sourceText: corruption.source,
      targetText: corruption.target,
    });
  }

  private poisson(lambda: number, hi: number): TruncatedPoisson {
    const key = `${lambda}:${hi}`;
    let dist = this.poissonCache.get(key);
    if (!dist) {
      // 'ratio' and 'length' modes give one lambda per sentence length: the cache stays small.
      if (this.poissonCache.size > 10_000) this.poissonCache.clear();
      dist = new TruncatedPoisson(lambda, 1, hi);
      this.poissonCache.set(key, dist);
    }
    return dist;
  }
}

/** Edit cost in labels: skip = 1 insertion, multiply = `count` deletions, replace = 1. */
export function editCost(edit: SynthEdit): number {
  return edit.type === 'multiply' ? edit.count : 1;
}

function positive(text: string, uncorruptible?: UncorruptibleReason): Corruption {
  return uncorruptible ? { source: text, target: text, edits: [], uncorruptible } : { source: text, target: text, edits: [] };
}

function applyEdits(chars: readonly string[], edits: readonly SynthEdit[]): string {
  const out: string[] = [];
  let e = 0;
  for (let i = 0; i < chars.length; i++) {
    const edit = edits[e]?.position === i ? edits[e++] : undefined;
    if (!edit) out.push(chars[i]);
    else if (edit.type === 'replace') out.push(edit.replacement);
    else if (edit.type === 'multiply') out.push(chars[i].repeat(1 + edit.count));
    // skip: nothing
  }
  return out.join('');
}

/** Alignment steps from the corrupted source to the clean target of `targetLength` code points. */
function alignmentFromEdits(targetLength: number, edits: readonly SynthEdit[]): AlignStep[] {
  const steps: AlignStep[] = [];
  let s = 0;
  let e = 0;
  for (let t = 0; t < targetLength; t++) {
    const edit = edits[e]?.position === t ? edits[e++] : undefined;
    if (!edit) steps.push({ op: 'keep', source: s++, target: t });
    else if (edit.type === 'skip') steps.push({ op: 'insert', target: t });
    else if (edit.type === 'replace') steps.push({ op: 'replace', source: s++, target: t });
    else {
      steps.push({ op: 'keep', source: s++, target: t });
      for (let c = 0; c < edit.count; c++) steps.push({ op: 'delete', source: s++ });
    }
  }
  return steps;
}

/**
 * k positions with `possible[i] !== 0`, pairwise non-adjacent, uniformly among all such subsets.
 * ways[i][j] counts the subsets of size j within [i, n); walking left to right, position i is
 * taken with probability ways[i+2][j-1] / ways[i][j]. Counts are floats: exact up to 2^53, and
 * beyond that only the sampling probabilities round, which is harmless.
 */
function sampleNonAdjacent(possible: Uint8Array, k: number, rng: Rng): number[] {
  const n = possible.length;
  const width = k + 1;
  const ways = new Float64Array((n + 2) * width);
  for (let i = n + 1; i >= 0; i--) {
    ways[i * width] = 1;
    if (i >= n) continue;
    for (let j = 1; j <= k; j++) {
      ways[i * width + j] = ways[(i + 1) * width + j] + (possible[i] !== 0 ? ways[(i + 2) * width + j - 1] : 0);
    }
  }
  const out: number[] = [];
  let j = k;
  for (let i = 0; i < n && j > 0; i++) {
    if (possible[i] === 0) continue;
    const take = ways[(i + 2) * width + j - 1];
    if (rng.float() * ways[i * width + j] < take) {
      out.push(i);
      j--;
      i++; // the neighbour is off limits
    }
  }
  return out;
}
