// `mateconv prepare` throughput (prepareLmData: clean, deduplicate, tokenize, pack, checkpoint)
// on 0, 1 and 2 worker threads, against a plain-Python baseline with `tokenizers` in the same run
// (tools/reference/prepare_baseline.py), whose tokens.bin and index.bin must equal ours byte for byte.
// Input: the bundled Wikipedia sentences as JSONL, repeated with a numbered suffix to --lines, with
// every 20th line an exact duplicate and every 100th bad JSON.
// Run from the repo root: npx tsx tools/bench/prepare.ts [--lines 200000]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prepareLmData } from '@proj/models';
import { intFlag } from './int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tokenizerDir = join(root, 'apps/mateconv/data/tokenizers/minimind');
const corpus = join(root, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt');
const python = join(root, 'tools/reference/.venv/bin/python');
const totalLines = intFlag('prepare', 'lines', 200_000);

interface Row {
  run: string;
  seconds: number;
  documents: number;
  tokens: number;
}

async function main(): Promise<void> {
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  const loadBefore = load();
  const sentences = readFileSync(corpus, 'utf8').split('\n').filter((line) => line !== '');
  const lines = Array.from({ length: totalLines }, (_, i) => {
    if (i % 100 === 99) return '{"text": broken';
    const n = i % 20 === 19 ? i - 1 : i; // a copy of the line before
    return JSON.stringify({ text: `${sentences[n % sentences.length]}（${Math.floor(n / sentences.length)}）` });
  });
  const dir = await mkdtemp(join(tmpdir(), 'bench-prepare-'));
  const rows: Row[] = [];
  try {
    const input = join(dir, 'corpus.jsonl');
    await writeFile(input, `${lines.join('\n')}\n`);
    let note = 'baseline: tools/reference/prepare_baseline.py (json, re, hashlib, tokenizers encode_batch of 2,048 on all cores, array)';
    let pythonBytes: Buffer[] | undefined;
    try {
      const out = execFileSync(python, [join(root, 'tools/reference/prepare_baseline.py'), '--input', input, '--tokenizer', tokenizerDir, '--output-dir', join(dir, 'py')], { encoding: 'utf8' });
      const r = JSON.parse(out.trim().split('\n').pop()!) as { documents: number; tokens: number; seconds: number };
      rows.push({ run: 'Python + tokenizers (baseline)', ...r });
      pythonBytes = ['tokens.bin', 'index.bin'].map((name) => readFileSync(join(dir, 'py', name)));
    } catch (error) {
      note = `baseline: Python tokenizers unavailable (${(error as Error).message.split('\n')[0]}); ratios are to 0 threads`;
    }
    for (const threads of [0, 1, 2]) {
      const out = join(dir, `ts-${threads}`);
      const result = await prepareLmData({ inputs: [input], outputDir: out, tokenizerDir, threads, progress: false });
      rows.push({ run: `prepareLmData, ${threads === 0 ? 'main thread' : `${threads} worker thread${threads > 1 ? 's' : ''}`}`, seconds: result.seconds, documents: result.stats.documents, tokens: result.stats.tokens });
      if (pythonBytes) {
        const same = ['tokens.bin', 'index.bin'].every((name, k) => readFileSync(join(out, name)).equals(pythonBytes![k]));
        if (!same) throw new Error(`bench/prepare: ${out} differs from the Python baseline's bytes`);
      }
    }
    if (pythonBytes) note += '; tokens.bin and index.bin of every run equal the baseline\'s byte for byte';
    const base = rows[0];
    console.log(`command: npx tsx tools/bench/prepare.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
    console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, node ${process.version}; load average ${loadBefore} before, ${load()} after`);
    console.log(`input: ${totalLines.toLocaleString('en')} JSONL lines (${base.documents.toLocaleString('en')} documents kept, ${base.tokens.toLocaleString('en')} tokens)`);
    console.log(note);
    console.log('');
    console.log('| run | seconds | docs/s | tokens/s | × baseline |');
    console.log('|:---|---:|---:|---:|---:|');
    for (const row of rows) {
      const rate = row.tokens / row.seconds;
      console.log(`| ${row.run} | ${row.seconds.toFixed(2)} | ${Math.round(row.documents / row.seconds).toLocaleString('en')} | ${Math.round(rate).toLocaleString('en')} | ${(rate / (base.tokens / base.seconds)).toFixed(2)}× |`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
