import { rejectCode, type LabelResult } from '@proj/align';
import type { SkipCounter } from '@proj/core';
import type { Corruption, SynthEditType } from './error-generator';

/** The report of a synthesis job (plain JSON, so the CLI can print it as is). */
export interface SynthSummary {
  /** Clean sentences read. */
  sentences: number;
  /** Examples written (positives + negatives). */
  examples: number;
  /** Written examples with source == target (asked for, or uncorruptible). */
  positives: number;
  /** Written examples with at least one error. */
  negatives: number;
  /** Corruptions asked for but impossible, written as positives; by reason in `uncorruptibleByReason`. */
  uncorruptible: number;
  uncorruptibleByReason: Record<string, number>;
  /** Pairs the labeller refused (not written), by reject code, e.g. `insert_too_long`. */
  rejected: Record<string, number>;
  /** Errors made, by type (a multiply counts once, whatever its count). */
  editsByType: Record<SynthEditType, number>;
  /** Bad input lines skipped. */
  skipped: { count: number; byReason: Record<string, number>; examples: string[] };
}

/** Counts for a synthesis job; workers fill one per chunk and the caller merges them. */
export class SynthStats {
  sentences = 0;
  examples = 0;
  positives = 0;
  negatives = 0;
  uncorruptible: Record<string, number> = {};
  rejected: Record<string, number> = {};
  editsByType: Record<SynthEditType, number> = { skip: 0, multiply: 0, replace: 0 };

  /** Records one labelled corruption; returns whether it was written. */
  addExample(corruption: Corruption, result: LabelResult): boolean {
    if (corruption.uncorruptible) bump(this.uncorruptible, corruption.uncorruptible);
    if (!result.ok) {
      bump(this.rejected, rejectCode(result.reason));
      return false;
    }
    this.examples++;
    if (corruption.edits.length === 0) this.positives++;
    else this.negatives++;
    for (const edit of corruption.edits) this.editsByType[edit.type]++;
    return true;
  }

  merge(other: SynthStatsJSON): void {
    this.sentences += other.sentences;
    this.examples += other.examples;
    this.positives += other.positives;
    this.negatives += other.negatives;
    for (const [k, v] of Object.entries(other.uncorruptible)) bump(this.uncorruptible, k, v);
    for (const [k, v] of Object.entries(other.rejected)) bump(this.rejected, k, v);
    for (const t of Object.keys(this.editsByType) as SynthEditType[]) this.editsByType[t] += other.editsByType[t];
  }

  toJSON(): SynthStatsJSON {
    const { sentences, examples, positives, negatives, uncorruptible, rejected, editsByType } = this;
    return { sentences, examples, positives, negatives, uncorruptible, rejected, editsByType };
  }

  summary(skipped?: SkipCounter): SynthSummary {
    return {
      sentences: this.sentences,
      examples: this.examples,
      positives: this.positives,
      negatives: this.negatives,
      uncorruptible: Object.values(this.uncorruptible).reduce((a, b) => a + b, 0),
      uncorruptibleByReason: { ...this.uncorruptible },
      rejected: { ...this.rejected },
      editsByType: { ...this.editsByType },
      skipped: {
        count: skipped?.count ?? 0,
        byReason: Object.fromEntries(skipped?.byReason ?? []),
        examples: [...(skipped?.examples ?? [])],
      },
    };
  }
}

/** What crosses the worker boundary. */
export type SynthStatsJSON = Pick<SynthStats, 'sentences' | 'examples' | 'positives' | 'negatives' | 'uncorruptible' | 'rejected' | 'editsByType'>;

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}
