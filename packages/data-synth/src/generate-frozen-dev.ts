import { Rng, SkipCounter, writeFileAtomic } from '@proj/core';
import { readCleanSentences, type CleanFormat } from './clean-corpus';
import { ConfusionSet, type ConfusionFile } from './confusion-set';
import { ErrorGenerator } from './error-generator';
import { precomputedLine } from './precomputed-line';
import { parseSynthConfig, type SynthConfigInput } from './synth-config';
import { SynthStats, type SynthSummary } from './synth-stats';

/** Domain key so frozen-dev streams never coincide with static (seed, i, copy) or online (seed, epoch, i) ones. */
export const FROZEN_DEV_STREAM = 0x64657631; // "dev1"

export interface GenerateFrozenDevOptions {
  cleanFile: string;
  format?: CleanFormat;
  textField?: string;
  outputFile: string;
  /** Sentences to sample (all of them when the file has fewer). */
  numSamples: number;
  config?: SynthConfigInput;
  confusionFiles?: readonly ConfusionFile[];
  onBadConfusionLine?: 'throw' | 'skip';
}

/**
 * A fixed dev set: `numSamples` clean sentences sampled without replacement by
 * `Rng.derive(seed, FROZEN_DEV_STREAM)`, kept in file order, each `maybeCorrupt`ed (so about
 * 1 − p_corrupt of them are positives, as in real test sets) with `Rng.derive(seed,
 * FROZEN_DEV_STREAM, sentenceIndex)`. Same seed + same file ⇒ byte-identical output. Reads the file
 * twice (count, then pick) so memory holds only the sample.
 */
export async function generateFrozenDev(options: GenerateFrozenDevOptions): Promise<SynthSummary> {
  const config = parseSynthConfig(options.config ?? {}, 'generateFrozenDev');
  if (!Number.isInteger(options.numSamples) || options.numSamples < 1) {
    throw new RangeError(`generateFrozenDev: numSamples must be an integer >= 1, got ${options.numSamples}`);
  }
  const skipped = new SkipCounter();
  const confusion = await ConfusionSet.fromFiles(options.confusionFiles, {
    onBadLine: options.onBadConfusionLine === 'skip' ? skipped : 'throw',
  });
  const generator = new ErrorGenerator(config, confusion);
  const read = (counter: SkipCounter) =>
    readCleanSentences(options.cleanFile, { format: options.format, textField: options.textField, skipped: counter });

  let count = 0;
  for await (const _ of read(new SkipCounter())) count++; // skips are counted on the second pass
  const picked = Rng.derive(config.seed, FROZEN_DEV_STREAM).sampleIndices(count, Math.min(options.numSamples, count));

  const stats = new SynthStats();
  const lines: string[] = [];
  let index = 0;
  let next = 0;
  for await (const { text } of read(skipped)) {
    if (index++ !== picked[next]) continue;
    next++;
    const corruption = generator.maybeCorrupt(text, Rng.derive(config.seed, FROZEN_DEV_STREAM, index - 1));
    const result = generator.toExample(corruption);
    stats.sentences++;
    if (stats.addExample(corruption, result) && result.ok) lines.push(precomputedLine(result.example));
  }
  await writeFileAtomic(options.outputFile, lines.join(''));
  return stats.summary(skipped);
}
