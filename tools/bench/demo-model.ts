// A random-init Gap-ReLM of the demo's size, for the serving benchmarks (what is measured is the
// engine and the server, not the corrections).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BertTokenizer, GapRelm, buildCharVocab } from '@proj/models';

const root = fileURLToPath(new URL('../../', import.meta.url));

// DEMO_MODEL of apps/gap-relm/src/commands/demo.ts (sizes only), other fields at their defaults.
export const DEMO = { hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 256 } as const;

/** A random-init model of the demo's size over the bundled corpus's characters (as the demo's vocabulary), saved to `dir`. */
export async function randomDemoModel(dir: string, seed: number): Promise<string> {
  const sentences = readFileSync(join(root, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt'), 'utf8').split('\n').filter((s) => s.trim() !== '');
  const model = GapRelm.create(DEMO, BertTokenizer.fromVocabText(buildCharVocab(sentences).toText()), seed);
  await model.save(dir);
  model.dispose();
  return dir;
}
