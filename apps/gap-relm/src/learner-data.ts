import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { Rng, readLines, writeFileAtomic } from '@proj/core';
import { mixExamples } from '@proj/data-synth';

/** Stream key of the demo's mixing shuffle, apart from every synthesis stream of the same seed. */
const MIX_STREAM = 0x6d6978;

/** The gzipped `n_errors TAB source TAB target` files, concatenated into one plain file `output`. */
export async function writeLearnerPairs(files: readonly string[], output: string): Promise<number> {
  const text = (await Promise.all(files.map(async (file) => gunzipSync(await readFile(file)).toString('utf8')))).map((t) => (t.endsWith('\n') ? t : `${t}\n`)).join('');
  await writeFileAtomic(output, text);
  return text.split('\n').filter((line) => line.trim() !== '').length;
}

/**
 * Writes `output`: every line of the synthetic precomputed JSONL `synthetic` once, and lines of
 * `learner` repeated so that they are `share` of the result, shuffled by `seed` (see mixExamples).
 */
export async function writeMixedTrainFile(synthetic: string, learner: string, share: number, seed: number, output: string) {
  const read = async (file: string) => {
    const lines: string[] = [];
    for await (const { text } of readLines(file)) if (text.trim() !== '') lines.push(text);
    return lines;
  };
  const [synth, real] = [await read(synthetic), await read(learner)];
  const mixed = mixExamples(synth, real, share, Rng.derive(seed, MIX_STREAM));
  await writeFileAtomic(output, `${mixed.join('\n')}\n`);
  return { examples: mixed.length, learner: mixed.length - synth.length, learnerPairs: real.length };
}
