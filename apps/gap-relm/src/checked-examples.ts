import type { PrecomputedExample } from '@proj/align';
import { DataError, type SkipCounter } from '@proj/core';
import { type ExampleSource, staticExamples } from '@proj/models';
import { CliError } from './cli-io';

const LABEL_ARRAYS = ['op_labels', 'insert_labels', 'template_tokens', 'gold_tokens', 'mask_positions'] as const;

/**
 * A precomputed JSONL file as an ExampleSource of its good records only. A record that is not
 * JSON or lacks a field is skipped and counted (file:line or record number) instead of stopping
 * training at the batch that meets it. Reads every record once, handing the good ones to `each`
 * (the vocabulary pass); only their indices are kept in memory.
 */
export async function checkedExamples(file: string, flag: string, skips: SkipCounter, each?: (example: PrecomputedExample) => void): Promise<ExampleSource> {
  const source = await staticExamples(file).catch((error: Error) => {
    throw new CliError(`${flag}: ${error.message.replace(/^staticExamples: /, '')}`);
  });
  const good: number[] = [];
  for (let i = 0; i < source.length; i++) {
    try {
      const example = await source.get(i, 0);
      const missing = LABEL_ARRAYS.find((field) => !Array.isArray(example[field]));
      if (missing !== undefined) throw new DataError(`record ${i}: expected an array in field "${missing}"`, { file });
      good.push(i);
      each?.(example);
    } catch (error) {
      if (!(error instanceof DataError || error instanceof TypeError)) throw error;
      skips.add('bad_record', error.message.replace(/^staticExamples: /, ''));
    }
  }
  if (good.length === 0) {
    await source.close();
    throw new CliError(`${flag}: ${file} has no usable example (${skips.summary()})`);
  }
  if (good.length === source.length) return source;
  return {
    length: good.length,
    get: (index, epoch) => source.get(good[index], epoch),
    exampleLength: (index) => source.exampleLength(good[index]),
    describe: () => `${source.describe()}, ${source.length - good.length} bad records skipped`,
    close: () => source.close(),
  };
}
