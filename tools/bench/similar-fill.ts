// How decoding's similar-character prior (similar_fill_bonus) moves a trained Gap-ReLM's scores:
// for each bonus, thresholds F2-tuned on the frozen dev set (as `gap-relm demo` and `tune` do),
// then SIGHAN-15 test (bundled) and SIGHAN-13 test (../shared, when present) scored at sentence
// level. Decoding only: one model load, no retraining. The bonus the demo ships is chosen on
// SIGHAN-13, never on SIGHAN-15.
//
//   npx tsx tools/bench/similar-fill.ts --model runs/demo/model/final --dev runs/demo/dev.tsv [--bonus 0,2,5,8,12,16] [--threads 2]
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfusionSet } from '@proj/data-synth';
import { cscMetrics } from '@proj/metrics';
import { GapRelmCodec, OnnxGapRelm, exportGapRelmOnnx, initBackend, missingGapRelmOnnx, readSavedGapRelm } from '@proj/models';
import { tuneThresholds } from '@proj/sampling';

const root = fileURLToPath(new URL('../../', import.meta.url));
const SIGHAN13 = join(root, '../shared/data/ECSpell/csc_evaluation/data/basedata/simplified/test2013.txt');
/** DEMO_TUNE_GRID of apps/gap-relm/src/commands/demo.ts. */
const GRID = [0.95, 0.9, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1];

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    dev: { type: 'string' },
    bonus: { type: 'string', default: '0,2,5,8,10,12,16' },
    threads: { type: 'string', default: '2' },
  },
});
if (values.model === undefined || values.dev === undefined) {
  console.error('usage: similar-fill.ts --model <trained model dir> --dev <frozen dev pairs: source TAB target> [--bonus 0,2,5] [--threads 2]');
  process.exit(2);
}
const modelDir = values.model;
const bonuses = values.bonus.split(',').map(Number);

/** source TAB target, or SIGHAN's label TAB source TAB target. */
const pairs = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => line.split('\t').slice(-2))
    .map(([source, target]) => ({ source, target }));

if (missingGapRelmOnnx(modelDir).length > 0) {
  await initBackend({ backend: 'cpu' });
  await exportGapRelmOnnx(modelDir);
}
const model = await OnnxGapRelm.load(modelDir, { executionProviders: ['cpu'], intraOpNumThreads: Number(values.threads) });
const saved = await readSavedGapRelm(modelDir, 'similar-fill');
// The model's own table when it has one, else the bundled confusion sets (what `train` saves).
const similar = saved.similarChars ?? (await ConfusionSet.fromFiles(['same_pinyin', 'same_stroke'].map((n) => join(root, `apps/gap-relm/data/confusion/${n}.txt`))));
const dev = pairs(values.dev);
const tests: [string, string][] = [['SIGHAN-15', join(root, 'apps/gap-relm/data/sighan/sighan15-test.txt')]];
if (existsSync(SIGHAN13)) tests.push(['SIGHAN-13', SIGHAN13]);
else console.error(`similar-fill: ${SIGHAN13} not found; SIGHAN-15 only`);

const pct = (x: number) => (100 * x).toFixed(1);
console.log(`model ${modelDir}; thresholds F2-tuned on ${values.dev} (${dev.length} pairs), grid ${GRID.join(',')}`);
console.log('| bonus | thresholds (delete / insert / replace) | set | P | R | F1 | det F1 | FPR |');
console.log('|---:|---|---|---:|---:|---:|---:|---:|');
for (const bonus of bonuses) {
  const codec = GapRelmCodec.forModel({ ...saved.config, similar_fill_bonus: bonus }, saved.tokenizer, saved.bertConfig, similar);
  const planner = model.plannerSource();
  const infiller = codec.infillerSource(model.infillerRun());
  const tuned = await tuneThresholds(dev, { planner, infiller, grid: { deleteThreshold: GRID, insertThreshold: GRID, replaceThreshold: GRID }, beta: 2 });
  const { deleteThreshold, insertThreshold, replaceThreshold } = tuned.best;
  for (const [name, file] of tests) {
    const test = pairs(file);
    const corrected = await codec.correct(planner, infiller, test.map((p) => p.source), { deleteThreshold, insertThreshold, replaceThreshold });
    const m = cscMetrics(test.map((p) => p.source), test.map((p) => p.target), corrected.map((c) => c.corrected));
    const c = m.sentence.correction;
    console.log(`| ${bonus} | ${deleteThreshold} / ${insertThreshold} / ${replaceThreshold} | ${name} | ${pct(c.precision)} | ${pct(c.recall)} | **${pct(c.f1)}** | ${pct(m.sentence.detection.f1)} | ${pct(m.fpr)} |`);
  }
}
await model.release();

