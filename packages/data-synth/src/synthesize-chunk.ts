import type { Corruption, ErrorGenerator } from './error-generator';
import { OnlineAugmenter } from './online-augmenter';
import { precomputedLine } from './precomputed-line';
import { StaticDataGenerator } from './static-data-generator';
import { SynthStats, type SynthStatsJSON } from './synth-stats';

/** Static data (positive + num_negative corruptions per sentence) or one epoch of online augmentation. */
export type SynthMode = { kind: 'static' } | { kind: 'online'; epoch: number };

export interface SynthChunk {
  /** Index of `texts[0]` among all clean sentences of the job: the key of its random streams. */
  start: number;
  texts: string[];
}

export interface SynthChunkResult {
  /** Precomputed JSONL lines for the chunk, in sentence order. */
  jsonl: string;
  stats: SynthStatsJSON;
}

/** Corrupts and labels one chunk; the same code runs in every worker, so output is thread-independent. */
export function synthesizeChunk(generator: ErrorGenerator, mode: SynthMode, chunk: SynthChunk): SynthChunkResult {
  const stats = new SynthStats();
  const parts: string[] = [];
  const write = (corruption: Corruption) => {
    const result = generator.toExample(corruption);
    if (stats.addExample(corruption, result) && result.ok) parts.push(precomputedLine(result.example));
  };
  if (mode.kind === 'static') {
    const data = new StaticDataGenerator(generator);
    chunk.texts.forEach((text, i) => data.corruptionsFor(text, chunk.start + i).forEach(write));
  } else {
    const augmenter = new OnlineAugmenter(generator);
    chunk.texts.forEach((text, i) => write(augmenter.corruption(text, mode.epoch, chunk.start + i)));
  }
  stats.sentences = chunk.texts.length;
  return { jsonl: parts.join(''), stats: stats.toJSON() };
}
