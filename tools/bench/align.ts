// Alignment throughput: buildExample pairs/s on SIGHAN-15 pairs, on 1 thread and on all cores
// through the compile worker path, against a plain Python DP baseline in the same run.
// Run from the repo root: npx tsx tools/bench/align.ts [--pairs 50000] [--threads N]
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildExample, compile } from '@proj/align';
import { intFlag } from './int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const sighan = join(root, 'apps/gap-relm/data/sighan/sighan15-test.txt');
const reference = join(root, 'tools/reference/align_dp.py');

const flag = (flagName: string, fallback: number) => intFlag('align', flagName, fallback);

const totalPairs = flag('pairs', 50_000);
const threads = flag('threads', availableParallelism());

interface Row {
  run: string;
  pairs: number;
  seconds: number;
}

/** The baseline's textbook DP, in JS with arrays of arrays: the fallback when python3 is missing. */
function naiveAlign(a: string[], b: string[]): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1), d[i - 1][j] + 1, d[i][j - 1] + 1);
    }
  }
  // Backtrace, so the work matches the Python baseline.
  const steps: string[] = [];
  let i = a.length;
  let j = b.length;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && d[i][j] === d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)) steps.push(a[--i] === b[--j] ? 'keep' : 'replace');
    else if (i > 0 && d[i][j] === d[i - 1][j] + 1) steps.push(`delete${--i}`);
    else steps.push(`insert${--j}`);
  }
  return d[a.length][b.length];
}

function time(run: string, pairs: number, work: () => void): Row {
  const start = performance.now();
  work();
  return { run, pairs, seconds: (performance.now() - start) / 1000 };
}

async function main(): Promise<void> {
  const lines = (await readFile(sighan, 'utf8')).split('\n').filter((line) => line.trim() !== '');
  const base = lines.map((line) => line.split('\t')).map((fields) => [fields[1], fields[2]] as const);
  const pairs = Array.from({ length: totalPairs }, (_, k) => base[k % base.length]);
  const rows: Row[] = [];

  // Baseline: plain Python DP over the same pairs; naive JS DP if python3 is missing.
  let baseline: Row;
  let baselineNote: string;
  try {
    const out = execFileSync('python3', [reference, '--input', sighan, '--pairs', String(totalPairs)], { encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { pairs: number; seconds: number; python: string };
    baseline = { run: `python3 ${result.python} plain DP + backtrace (baseline)`, pairs: result.pairs, seconds: result.seconds };
    baselineNote = `baseline: python3 tools/reference/align_dp.py --input ${sighan} --pairs ${totalPairs}`;
  } catch (error) {
    baseline = time('naive JS DP, 2-D arrays (baseline: python3 unavailable)', totalPairs, () => {
      for (const [s, t] of pairs) naiveAlign(Array.from(s), Array.from(t));
    });
    baselineNote = `baseline: python3 failed (${(error as Error).message.split('\n')[0]}), so the naive JS DP is the baseline`;
  }
  rows.push(baseline);
  rows.push(
    time('naive JS DP, 2-D arrays', totalPairs, () => {
      for (const [s, t] of pairs) naiveAlign(Array.from(s), Array.from(t));
    }),
  );

  // Warm up the JIT on a slice before timing.
  for (const [s, t] of pairs.slice(0, 2000)) buildExample(s, t);
  let checksum = 0;
  rows.push(
    time('buildExample, 1 thread', totalPairs, () => {
      for (const [s, t] of pairs) {
        const result = buildExample(s, t);
        if (result.ok) checksum += result.edits;
      }
    }),
  );

  // The compile path: file in, JSONL out, labelling in worker threads (or in-thread for 1).
  const dir = await mkdtemp(join(tmpdir(), 'bench-align-'));
  try {
    const input = join(dir, 'pairs.tsv');
    await writeFile(input, `${pairs.map(([s, t]) => `${s}\t${t}`).join('\n')}\n`);
    for (const n of [...new Set([1, threads])]) {
      const start = performance.now();
      const summary = await compile({ input, output: join(dir, `out-${n}.jsonl`), format: 'tsv', threads: n, batchSize: 512, progress: false });
      if (summary.written !== totalPairs) throw new Error(`bench/align: compile wrote ${summary.written} of ${totalPairs}`);
      rows.push({ run: `compile tsv → JSONL, ${n} thread${n > 1 ? 's (workers)' : ''}`, pairs: totalPairs, seconds: (performance.now() - start) / 1000 });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const baseRate = baseline.pairs / baseline.seconds;
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  console.log(`command: npx tsx tools/bench/align.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
  console.log(`machine: ${cpu}, ${availableParallelism()} cores, node ${process.version}, ${process.platform}/${process.arch}`);
  console.log(`pairs: SIGHAN-15 test (${base.length} pairs, mean ${(base.reduce((n, [s]) => n + Array.from(s).length, 0) / base.length).toFixed(1)} chars) repeated to ${totalPairs.toLocaleString('en')}`);
  console.log(baselineNote);
  console.log('');
  const header = ['run', 'pairs', 'seconds', 'pairs/s', '× baseline'];
  const table = rows.map((row) => {
    const rate = row.pairs / row.seconds;
    return [row.run, row.pairs.toLocaleString('en'), row.seconds.toFixed(3), Math.round(rate).toLocaleString('en'), `${(rate / baseRate).toFixed(1)}×`];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
  const format = (cells: string[]) => `| ${cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
  console.log(format(header));
  console.log(`|${widths.map((w, c) => (c === 0 ? ':' : '') + '-'.repeat(w + 1) + (c === 0 ? '' : ':')).join('|')}|`);
  for (const row of table) console.log(format(row));
  console.log(`\n(checksum: ${checksum} edits; buildExample trims the common prefix/suffix before its DP, the baselines do not)`);
}

await main();
