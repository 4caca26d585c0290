import { tokenize, type PrecomputedExample } from '@proj/align';
import { ErrorGenerator, LazyJsonlDataset, OnlineAugmenter } from '@proj/data-synth';

/**
 * Where training / dev examples come from. Indexed, because the trainer owns the order (a seeded
 * permutation of 0..length-1 per epoch); `epoch` lets online data change every epoch while a
 * static file ignores it.
 */
export interface ExampleSource {
  readonly length: number;
  /** Example `index` as seen in `epoch`. */
  get(index: number, epoch: number): Promise<PrecomputedExample>;
  /**
   * The trainer's `exampleLength` for `group_by_length`: a length of example `index` that orders
   * examples by the padded work they cost (bytes of the record, characters of the sentence), the
   * same in every epoch.
   */
  exampleLength(index: number): number;
  /** "static precomputed.jsonl (1,204,331 examples)" — for logs. */
  describe(): string;
  /** Releases file handles. */
  close(): Promise<void>;
}

/**
 * Precomputed JSONL (the @proj/align format, one example per line) by random access through
 * `LazyJsonlDataset`: only an offset index is held in memory, so files of millions of lines work.
 * A line that is not an object with a string `source` is a DataError-style error naming file and record.
 */
export async function staticExamples(file: string): Promise<ExampleSource> {
  const ds = await LazyJsonlDataset.open<PrecomputedExample>(file);
  if (ds.length === 0) {
    await ds.close();
    throw new RangeError(`staticExamples: ${file} holds no examples`);
  }
  return {
    length: ds.length,
    async get(index) {
      const e = await ds.get(index);
      if (e === null || typeof e !== 'object' || typeof e.source !== 'string' || typeof e.target !== 'string') {
        throw new TypeError(`staticExamples: ${file} record ${index}: expected an object with string "source" and "target"`);
      }
      return e;
    },
    // The record holds the source, target, labels and template, each about as long as the sentence.
    exampleLength: (index) => ds.byteLength(index),
    describe: () => `static ${file} (${ds.length.toLocaleString('en-US')} examples)`,
    close: () => ds.close(),
  };
}

/** The example of an uncorrupted sentence: every slot KEEP, nothing to fill. */
export function positiveExample(text: string): PrecomputedExample {
  const tokens = tokenize(text);
  return {
    source: text,
    target: text,
    op_labels: new Array(tokens.length + 1).fill(0),
    insert_labels: new Array(tokens.length + 1).fill(0),
    template_tokens: tokens,
    gold_tokens: [],
    mask_positions: [],
  };
}

/**
 * Fresh errors every epoch from clean `sentences`: sentence `index` in `epoch` is corrupted by
 * `OnlineAugmenter` (stream `Rng.derive(seed, epoch, index)`, the generator's other settings
 * kept) and labelled by `ErrorGenerator.toExample`. Reproducible from (seed, epoch, index).
 * A corruption the labeller cannot represent becomes the clean sentence as a positive.
 */
export function onlineExamples(sentences: string[], generator: ErrorGenerator, seed: number): ExampleSource {
  if (!Array.isArray(sentences) || sentences.length === 0) throw new RangeError(`onlineExamples: sentences must be a non-empty array, got ${Array.isArray(sentences) ? 0 : typeof sentences}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`onlineExamples: seed must be a safe integer >= 0, got ${seed}`);
  const augmenter = new OnlineAugmenter(new ErrorGenerator({ ...generator.config, seed }, generator.confusion));
  return {
    length: sentences.length,
    async get(index, epoch) {
      if (!(Number.isInteger(index) && index >= 0 && index < sentences.length)) throw new RangeError(`onlineExamples.get: index must be in [0, ${sentences.length}), got ${index}`);
      const corruption = augmenter.corruption(sentences[index], epoch, index);
      const result = augmenter.generator.toExample(corruption);
      return result.ok ? result.example : positiveExample(corruption.target);
    },
    // The corrupted sentence differs from the clean one by a few characters at most.
    exampleLength: (index) => sentences[index].length,
    describe: () => `online ${sentences.length.toLocaleString('en-US')} clean sentences, fresh errors per epoch (seed ${seed})`,
    close: async () => {},
  };
}
