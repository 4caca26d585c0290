// Worker thread of `synthesizeFile`: rebuilds the generator once from paths and config, then
// answers chunks. Built as a second tsup entry so it sits beside dist/index.js.
import { SkipCounter, serveWorkerTasks } from '@proj/core';
import { ConfusionSet, type ConfusionFile } from './confusion-set';
import { ErrorGenerator } from './error-generator';
import type { SynthConfig } from './synth-config';
import { synthesizeChunk, type SynthChunk, type SynthChunkResult, type SynthMode } from './synthesize-chunk';

export interface SynthWorkerData {
  config: SynthConfig;
  confusionFiles: ConfusionFile[];
  mode: SynthMode;
  /** Skip bad confusion lines (the main thread already counted them) instead of throwing. */
  skipBadConfusionLines: boolean;
}

let generator: Promise<ErrorGenerator> | undefined;

serveWorkerTasks<SynthChunk, SynthChunkResult, SynthWorkerData>(async (chunk, data) => {
  // The main thread loaded these files with the same options first, so a failure here is not new.
  const onBadLine = data.skipBadConfusionLines ? new SkipCounter() : 'throw';
  generator ??= ConfusionSet.fromFiles(data.confusionFiles, { onBadLine }).then((confusion) => new ErrorGenerator(data.config, confusion));
  return synthesizeChunk(await generator, data.mode, chunk);
});
