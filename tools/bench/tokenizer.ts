// Byte-level BPE encode throughput on minimind's tokenizer: Hugging Face's Node binding
// `tokenizers` (Rust, what @proj/models' BpeTokenizer runs) and the pure-JS `@huggingface/tokenizers`,
// against Python `tokenizers` in the same run, on lines of the bundled Chinese Wikipedia corpus.
// Every run's ids are checked against the binding's. Prints the load average, since 2 cores are shared.
// Run from the repo root: npx tsx tools/bench/tokenizer.ts [--lines 20000]
// (Python baseline: tools/reference/.venv with `tokenizers`, see tools/reference/README.md)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tokenizer as PureJsTokenizer } from '@huggingface/tokenizers';
import { BpeTokenizer } from '@proj/models';
import { intFlag } from './int-flag';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tokenizerDir = join(root, 'apps/mateconv/data/tokenizers/minimind');
const corpus = join(root, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt');
const python = join(root, 'tools/reference/.venv/bin/python');
const totalLines = intFlag('tokenizer', 'lines', 20_000);

interface Run {
  name: string;
  seconds: number;
  tokens: number;
}

async function timed(name: string, work: () => Promise<number[][]> | number[][], reference?: number[][]): Promise<Run> {
  const start = performance.now();
  const ids = await work();
  const seconds = (performance.now() - start) / 1000;
  if (reference) {
    const differing = ids.filter((row, i) => row.join(',') !== reference[i].join(',')).length;
    if (differing > 0) throw new Error(`bench/tokenizer: ${name} differs from the binding on ${differing} lines`);
  }
  return { name, seconds, tokens: ids.reduce((n, row) => n + row.length, 0) };
}

async function main(): Promise<void> {
  const base = readFileSync(corpus, 'utf8').split('\n').filter((line) => line !== '');
  const lines = Array.from({ length: totalLines }, (_, i) => base[i % base.length]);
  const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
  const loadBefore = load();

  const binding = await BpeTokenizer.fromDirectory(tokenizerDir);
  const pureJs = new PureJsTokenizer(
    JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer.json'), 'utf8')),
    JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer_config.json'), 'utf8')),
  );
  // Warm up both (JIT, caches) on 1,000 lines, as the Python baseline does.
  for (const line of lines.slice(0, 1000)) {
    await binding.encode(line, { addSpecialTokens: false });
    pureJs.encode(line, { add_special_tokens: false });
  }

  const runs: Run[] = [];
  const reference = await binding.encodeBatch(lines, { addSpecialTokens: false });
  runs.push(
    await timed('tokenizers (Node binding), one await per line', async () => {
      const out: number[][] = [];
      for (const line of lines) out.push(await binding.encode(line, { addSpecialTokens: false }));
      return out;
    }, reference),
  );
  runs.push(await timed('tokenizers (Node binding), encodeBatch of all lines', () => binding.encodeBatch(lines, { addSpecialTokens: false }), reference));
  runs.push(
    await timed('tokenizers (Node binding), encodeBatch of 256-line chunks', async () => {
      const out: number[][] = [];
      for (let i = 0; i < lines.length; i += 256) out.push(...(await binding.encodeBatch(lines.slice(i, i + 256), { addSpecialTokens: false })));
      return out;
    }, reference),
  );
  runs.push(await timed('@huggingface/tokenizers (pure JS), one call per line', () => lines.map((line) => pureJs.encode(line, { add_special_tokens: false }).ids), reference));

  let baseline: Run | undefined;
  let note: string;
  try {
    const out = execFileSync(python, [join(root, 'tools/reference/tokenizer_bench.py'), '--tokenizer', join(tokenizerDir, 'tokenizer.json'), '--input', corpus, '--lines', String(totalLines)], { encoding: 'utf8' });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { tokens: number; single_seconds: number; batch_seconds: number; tokenizers: string };
    baseline = { name: `Python tokenizers ${result.tokenizers}, one call per line (baseline)`, seconds: result.single_seconds, tokens: result.tokens };
    runs.unshift(baseline, { name: `Python tokenizers ${result.tokenizers}, encode_batch of all lines`, seconds: result.batch_seconds, tokens: result.tokens });
    note = 'baseline: tools/reference/tokenizer_bench.py (same lines, same warm-up)';
  } catch (error) {
    note = `baseline: Python tokenizers unavailable (${(error as Error).message.split('\n')[0]}); ratios are to the binding's one-per-line run`;
  }
  const ref = baseline ?? runs[0];
  const refRate = ref.tokens / ref.seconds;

  console.log(`command: npx tsx tools/bench/tokenizer.ts${process.argv.slice(2).map((a) => ` ${a}`).join('')}`);
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores, node ${process.version}; load average ${loadBefore} before, ${load()} after`);
  console.log(`input: ${totalLines.toLocaleString('en')} lines of apps/gap-relm/data/corpus/wiki.zh-cn.txt, ${ref.tokens.toLocaleString('en')} tokens; every run's ids equal the binding's`);
  console.log(note);
  console.log('');
  console.log('| run | seconds | lines/s | tokens/s | × baseline |');
  console.log('|:---|---:|---:|---:|---:|');
  for (const run of runs) {
    const rate = run.tokens / run.seconds;
    console.log(`| ${run.name} | ${run.seconds.toFixed(3)} | ${Math.round(totalLines / run.seconds).toLocaleString('en')} | ${Math.round(rate).toLocaleString('en')} | ${(rate / refRate).toFixed(2)}× |`);
  }
}

await main();
