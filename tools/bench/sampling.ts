// Host time of the ranking filters of @proj/sampling on one vocabulary row: applyTopP (and applyTopK,
// and both in processLogits' order) ranking only the head of the row that can hold what they keep,
// against the full sort of the whole vocabulary they did before (the baseline, same run, same rows,
// calls interleaved). Checks that both keep the same tokens.
// Run from the repo root: npx tsx tools/bench/sampling.ts [--rows 16] [--rounds 10]
import { availableParallelism, cpus, loadavg } from 'node:os';
import { Rng } from '@proj/core';
import { applyTopK, applyTopP } from '@proj/sampling';
import { applyTopKFullSort, applyTopPFullSort } from '../../packages/sampling/src/autoregressive/full-sort-filters';
import { intFlag } from './int-flag';

const rowsPerCase = intFlag('sampling', 'rows', 16);
const rounds = intFlag('sampling', 'rounds', 10);

type Filter = (row: Float32Array) => Float32Array;
const FILTERS: { name: string; head: Filter; full: Filter }[] = [
  { name: 'top-p 0.9', head: (r) => applyTopP(r, 0.9), full: (r) => applyTopPFullSort(r, 0.9) },
  { name: 'top-p 0.99', head: (r) => applyTopP(r, 0.99), full: (r) => applyTopPFullSort(r, 0.99) },
  { name: 'top-k 50, top-p 0.9', head: (r) => applyTopP(applyTopK(r, 50), 0.9), full: (r) => applyTopPFullSort(applyTopKFullSort(r, 50), 0.9) },
  { name: 'top-k 50', head: (r) => applyTopK(r, 50), full: (r) => applyTopKFullSort(r, 50) },
];

/** Gaussian logits × `scale`: 3 is about as peaked as a small LM's next-token logits, 1 is nearly flat. */
function gaussianRows(V: number, scale: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: rowsPerCase }, () => Float32Array.from({ length: V }, () => scale * Math.sqrt(-2 * Math.log(1 - rng.float())) * Math.cos(2 * Math.PI * rng.float())));
}

/** Mean milliseconds per call of `filter` over copies of `rows` (the copy is timed too, for both). */
function msPerCall(filter: Filter, rows: readonly Float32Array[]): number {
  const start = performance.now();
  for (const row of rows) filter(row.slice());
  return (performance.now() - start) / rows.length;
}

function main(): void {
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  const loadBefore = load();
  const lines: string[] = [];
  for (const V of [6400, 21128]) {
    for (const [shape, scale] of [['peaked (N(0,1) × 3)', 3], ['flat (N(0,1) × 1)', 1]] as const) {
      const rows = gaussianRows(V, scale, V + scale);
      for (const f of FILTERS) {
        rows.forEach((row, i) => {
          const a = f.head(row.slice());
          const b = f.full(row.slice());
          if (a.some((x, j) => !Object.is(x, b[j]))) throw new Error(`bench/sampling: ${f.name}, V ${V}, ${shape}, row ${i}: the head-only filter kept other tokens than the full sort`);
        });
        const kept = rows.reduce((n, row) => n + f.head(row.slice()).filter((x) => x !== -Infinity).length, 0) / rows.length;
        let full = 0;
        let head = 0;
        for (let round = 0; round < rounds; round++) {
          // Alternate which runs first, so neither always meets a warmer cache or a quieter moment.
          if (round % 2 === 0) [full, head] = [full + msPerCall(f.full, rows), head + msPerCall(f.head, rows)];
          else [head, full] = [head + msPerCall(f.head, rows), full + msPerCall(f.full, rows)];
        }
        lines.push(`| ${V.toLocaleString('en')} | ${shape} | ${f.name} | ${kept.toFixed(0)} | ${(full / rounds).toFixed(3)} | ${(head / rounds).toFixed(3)} | ${(full / head).toFixed(1)}× |`);
      }
    }
  }
  console.log(`command: npx tsx tools/bench/sampling.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, node ${process.version}; load average ${loadBefore} before, ${load()} after`);
  console.log(`${rowsPerCase} seeded rows per case, ${rounds} rounds; ms per call (copying the row included); both keep the same tokens on every row`);
  console.log('');
  console.log('| vocabulary | logits | filter | tokens kept | full sort (baseline) ms | head only ms | speed-up |');
  console.log('|---:|:---|:---|---:|---:|---:|---:|');
  for (const line of lines) console.log(line);
}

main();
