/**
 * Synthesis throughput on the bundled corpus: labels built from the generator's edits (what
 * @proj/data-synth does) against a straightforward baseline that labels each pair by aligning it
 * with the Levenshtein DP (`buildExample`), single thread, plus `synthesizeFile` with 1 worker and
 * with every core. Run: npx tsx tools/bench/synth.ts [--sentences N]
 */
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildExample } from '@proj/align';
import { ConfusionSet, ErrorGenerator, StaticDataGenerator, defaultSynthConfig, precomputedLine, synthesizeFile } from '@proj/data-synth';

const root = fileURLToPath(new URL('../../', import.meta.url));
const corpusFile = join(root, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt');
const confusionFiles = ['same_pinyin.txt', 'same_stroke.txt'].map((f) => join(root, 'apps/gap-relm/data/confusion', f));
const limitArg = process.argv.indexOf('--sentences');
const limit = limitArg > 0 ? Number(process.argv[limitArg + 1]) : Infinity;
const sentences = readFileSync(corpusFile, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '')
  .slice(0, limit);

const confusion = await ConfusionSet.fromFiles(confusionFiles);
const generator = new ErrorGenerator(defaultSynthConfig, confusion);
const data = new StaticDataGenerator(generator);

// Long inputs (8 consecutive sentences joined, ~150–300 chars), where the alignment DP's
// quadratic cost shows; synthetic data for document-level models looks like this.
const paragraphs = Array.from({ length: Math.ceil(sentences.length / 8) }, (_, i) => sentences.slice(8 * i, 8 * i + 8).join(''));

/** One pass in this thread; returns the JSONL text so the work cannot be optimised away. */
function inProcess(label: (c: ReturnType<StaticDataGenerator['corruptionsFor']>[number]) => ReturnType<typeof buildExample>, inputs = sentences): string {
  const parts: string[] = [];
  inputs.forEach((text, i) => {
    for (const c of data.corruptionsFor(text, i)) {
      const result = label(c);
      if (result.ok) parts.push(precomputedLine(result.example));
    }
  });
  return parts.join('');
}

const byAlignment = (c: { source: string; target: string }) => buildExample(c.source, c.target, { maxInsertK: defaultSynthConfig.max_insert_k });
const byEdits = (c: Parameters<ErrorGenerator['toExample']>[0]) => generator.toExample(c);

async function time(fn: () => unknown | Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

// Warm up the JIT so the first timed row is not penalised.
inProcess(byAlignment, sentences.slice(0, 5000));
inProcess(byEdits, sentences.slice(0, 5000));

const cleanFile = join(tmpdir(), `bench-synth-${process.pid}.txt`);
const outputFile = join(tmpdir(), `bench-synth-${process.pid}.jsonl`);
// The file runs use the corpus 8 times over, so the ~0.5 s of worker start-up (tsx compiling
// the worker from source) does not dominate.
const FILE_REPEAT = 8;
await import('node:fs/promises').then((fs) => fs.writeFile(cleanFile, Array(FILE_REPEAT).fill(sentences.join('\n')).join('\n')));
const cores = availableParallelism();

const rows: { name: string; seconds: number; items: number; group: string }[] = [];
const measure = async (group: string, items: number, name: string, fn: () => unknown) => rows.push({ group, items, name, seconds: await time(fn) });
let baselineText = '';
const n = sentences.length;
await measure('sentences', n, 'baseline: corrupt + label by alignment DP, 1 thread', () => (baselineText = inProcess(byAlignment)));
let editsText = '';
await measure('sentences', n, 'corrupt + labels from edits, 1 thread', () => (editsText = inProcess(byEdits)));
const fileRun = (threads: number) => () => synthesizeFile({ cleanFile, outputFile, confusionFiles, threads, progress: false });
await measure('sentences', FILE_REPEAT * n, `synthesizeFile, 1 worker, corpus ×${FILE_REPEAT} (file in, JSONL out)`, fileRun(1));
await measure('sentences', FILE_REPEAT * n, `synthesizeFile, ${cores} workers, corpus ×${FILE_REPEAT}`, fileRun(cores));
await measure('paragraphs', paragraphs.length, 'baseline: corrupt + label by alignment DP, 1 thread', () => inProcess(byAlignment, paragraphs));
await measure('paragraphs', paragraphs.length, 'corrupt + labels from edits, 1 thread', () => inProcess(byEdits, paragraphs));
rmSync(cleanFile, { force: true });
rmSync(outputFile, { force: true });

// Both labellers must describe the same pairs; alignments may differ only where ties exist.
const a = baselineText.split('\n');
const b = editsText.split('\n');
const same = a.filter((line, i) => line === b[i]).length;

const cpu = cpus()[0]?.model.trim() ?? 'unknown cpu';
// Shared machines: a load average above the core count means the thread rows are squeezed.
console.log(`machine: ${cpu}, ${cores} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`command: npx tsx tools/bench/synth.ts${limitArg > 0 ? ` --sentences ${limit}` : ''}`);
console.log(`input: ${sentences.length.toLocaleString('en')} sentences / ${paragraphs.length.toLocaleString('en')} paragraphs of 8 × ${1 + defaultSynthConfig.num_negative} examples (positive + ${defaultSynthConfig.num_negative} corruption), default config`);
console.log(`labels identical between the two labellers: ${same.toLocaleString('en')}/${a.length.toLocaleString('en')} lines`);
console.log('');
const header = ['input', 'variant', 'seconds', 'inputs/s', 'vs baseline'];
const rate = (r: (typeof rows)[number]) => r.items / r.seconds;
const baseRate = (group: string) => rate(rows.find((r) => r.group === group)!);
const table = rows.map((r) => [
  r.group,
  r.name,
  r.seconds.toFixed(2),
  Math.round(rate(r)).toLocaleString('en'),
  `${(rate(r) / baseRate(r.group)).toFixed(2)}×`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
console.log(line(header));
console.log(`|${widths.map((w, i) => (i < 2 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
for (const row of table) console.log(line(row));
