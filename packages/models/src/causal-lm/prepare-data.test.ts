import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BpeTokenizer } from '../tokenizers/bpe-tokenizer';
import { PACKED_FILES, PackedTokens } from './packed-tokens';
import { PrepareError, prepareLmData, type PreparedStats, type PrepareLmDataOptions } from './prepare-data';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const TOKENIZER = join(ROOT, 'apps/mateconv/data/tokenizers/minimind');
const CORPUS = join(ROOT, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt');
const CHILD = fileURLToPath(new URL('./prepare-kill-child.ts', import.meta.url));

let dir: string;
let tokenizer: BpeTokenizer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prepare-'));
  tokenizer = await BpeTokenizer.fromDirectory(TOKENIZER);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const outputBytes = (out: string) => Object.values(PACKED_FILES).map((name) => readFileSync(join(out, name)));

/** A small corpus with one of every kind of bad line. */
async function messyCorpus(): Promise<string[]> {
  const jsonl = join(dir, 'messy.jsonl');
  const lines = [
    '\uFEFF{"text":"你好，世界！"}', // 1 BOM
    '{"text":"Hello world"}\r', // 2 CRLF
    '{bad json', // 3
    '{"content":"x"}', // 4 missing field
    '{"text": 5}', // 5 not a string
    '{"text":"   "}', // 6 empty after trimming
    '{"text":"bell\\u0007"}', // 7 control character
    '{"text":"\\ud800 alone"}', // 8 lone surrogate
    '{"text":"你好，世界！"}', // 9 duplicate of 1
    '[1, 2]', // 10 not an object
  ];
  const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // 11: {"text":"\xff\xfe"}
  await writeFile(jsonl, Buffer.concat([Buffer.from(`${lines.join('\n')}\n`), invalidUtf8, Buffer.from('\n{"text":"  padded\\r\\nlines  "}\n')]));
  const text = join(dir, 'plain.txt');
  await writeFile(text, '第一行\n\n第二行\r\nHello world\n最后一行，没有换行');
  return [jsonl, text];
}

/** 3,000 corpus lines with duplicates and bad lines mixed in, for the kill tests. */
async function bigCorpus(): Promise<string> {
  const file = join(dir, 'big.jsonl');
  if (existsSync(file)) return file;
  const sentences = readFileSync(CORPUS, 'utf8').split('\n').slice(0, 2700);
  const rng = new Rng(7);
  const lines = sentences.map((s) => JSON.stringify({ text: s }));
  for (let i = 0; i < 300; i++) {
    const at = rng.int(lines.length);
    lines.splice(at, 0, i % 3 === 0 ? '{oops' : JSON.stringify({ text: sentences[rng.int(sentences.length)] }));
  }
  await writeFile(file, `${lines.join('\n')}\n`);
  return file;
}

describe('prepareLmData', () => {
  it('cleans, counts rejects with file:line, drops duplicates and packs [BOS] ids [EOS] per document', async () => {
    const inputs = await messyCorpus();
    const out = join(dir, 'messy-out');
    const result = await prepareLmData({ inputs, outputDir: out, tokenizerDir: TOKENIZER, threads: 0, progress: false, chunkLines: 4 });
    const stats = result.stats;
    expect(result.outcome).toBe('prepared');
    expect(stats.dtype).toBe('uint16');
    expect(stats.lines).toBe(12 + 5);
    expect(stats.rejects).toEqual({
      bad_json: 1, control_chars: 1, empty: 2, invalid_unicode: 1, invalid_utf8: 1, missing_field: 1, not_object: 1, not_string: 1,
    });
    expect(stats.rejected).toBe(9);
    expect(stats.duplicates).toBe(2); // line 9, and "Hello world" again in plain.txt
    expect(stats.reject_examples[0]).toMatch(/messy\.jsonl:3: bad_json: invalid JSON/);
    expect(stats.reject_examples).toContain(`${inputs[0]}:7: control_chars: control character U+0007 at 4`);
    expect(stats.reject_examples).toContain(`${inputs[1]}:2: empty: empty line`);
    const texts = ['你好，世界！', 'Hello world', 'padded\nlines', '第一行', '第二行', '最后一行，没有换行'];
    expect(stats.documents).toBe(texts.length);
    expect(existsSync(join(out, '.prepare'))).toBe(false);

    const packed = await PackedTokens.open(out);
    try {
      for (const [i, text] of texts.entries()) {
        expect(Array.from(await packed.document(i))).toEqual([1, ...(await tokenizer.encode(text)), 2]);
      }
      expect(packed.numTokens).toBe(stats.tokens);
      expect(stats.length.min).toBeGreaterThanOrEqual(3);
      expect(Object.values(stats.length_histogram).reduce((a, b) => a + b, 0)).toBe(texts.length);
      // Windows of seqLen + 1 tokens step by seqLen over the whole stream.
      const all = await packed.read(0, packed.numTokens);
      const seqLen = 5;
      expect(packed.numWindows(seqLen)).toBe(Math.floor((stats.tokens - 1) / seqLen));
      expect(Array.from(await packed.window(2, seqLen))).toEqual(Array.from(all.subarray(10, 16)));
      await expect(packed.window(packed.numWindows(seqLen), seqLen)).rejects.toThrow(RangeError);
    } finally {
      await packed.close();
    }
  });

  it('writes the same bytes on 0 and 2 worker threads; a second run reports done; other inputs are refused', async () => {
    const inputs = [await bigCorpus()];
    const options = { inputs, tokenizerDir: TOKENIZER, progress: false, chunkLines: 256 };
    const a = await prepareLmData({ ...options, outputDir: join(dir, 't0'), threads: 0 });
    const b = await prepareLmData({ ...options, outputDir: join(dir, 't2'), threads: 2 });
    expect(outputBytes(join(dir, 't2'))).toEqual(outputBytes(join(dir, 't0')));
    expect(a.stats.duplicates).toBe(200);
    expect(a.stats.rejects).toEqual({ bad_json: 100 });
    expect(b.tokensPerSecond).toBeGreaterThan(0);
    expect((await prepareLmData({ ...options, outputDir: join(dir, 't0'), threads: 0 })).outcome).toBe('already-done');
    const other = prepareLmData({ ...options, field: 'body', outputDir: join(dir, 't0'), threads: 0 });
    await expect(other).rejects.toThrow(PrepareError);
    await expect(other).rejects.toThrow('already holds a corpus prepared from other inputs or options');
  });
});

/**
 * Runs prepareLmData in a child that SIGKILLs itself at `kill`, or is killed `afterMs` after its
 * first checkpoint appears (so the kill lands inside the run, not in start-up). Resolves the signal.
 */
function runChild(options: PrepareLmDataOptions, kill?: { at: string; value: number | string }, afterMs?: number): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ options, kill })], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let timer: NodeJS.Timeout | undefined;
    if (afterMs !== undefined) {
      const state = join(options.outputDir, '.prepare', 'state.json');
      const poll = () => (existsSync(state) ? (timer = setTimeout(() => child.kill('SIGKILL'), afterMs)) : (timer = setTimeout(poll, 5)));
      poll();
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== null && code !== 0) reject(new Error(`child exited with ${code}: ${stderr}`));
      else resolve(signal);
    });
  });
}

describe('prepareLmData resumes after a kill at any moment with byte-identical output', () => {
  let reference: Buffer[];
  let base: PrepareLmDataOptions;
  beforeAll(async () => {
    base = { inputs: [await bigCorpus()], tokenizerDir: TOKENIZER, threads: 0, chunkLines: 200, progress: false, outputDir: '' };
    await prepareLmData({ ...base, outputDir: join(dir, 'reference') });
    reference = outputBytes(join(dir, 'reference'));
  });

  const cases: [string, { at: string; value: number | string }[]][] = [
    ['after a chunk is appended, before its checkpoint', [{ at: 'afterAppend', value: 3 }]],
    ['right after a checkpoint', [{ at: 'afterCheckpoint', value: 5 }]],
    ['twice: before a checkpoint, then after a later one', [{ at: 'afterAppend', value: 1 }, { at: 'afterCheckpoint', value: 9 }]],
    ['between moving tokens.bin and index.bin into place', [{ at: 'afterFinalizeStep', value: 'tokens' }]],
    ['after stats.json, before the work directory is removed', [{ at: 'afterFinalizeStep', value: 'stats' }]],
  ];
  it.each(cases)('killed %s', async (name, kills) => {
    const out = join(dir, `kill-${name.replace(/\W+/g, '-')}`);
    for (const kill of kills) expect(await runChild({ ...base, outputDir: out }, kill)).toBe('SIGKILL');
    expect(existsSync(join(out, '.prepare'))).toBe(true);
    const resumed = await prepareLmData({ ...base, outputDir: out });
    expect(resumed.outcome).toBe('resumed');
    expect(outputBytes(out)).toEqual(reference);
    expect(existsSync(join(out, '.prepare'))).toBe(false);
  });

  it('killed at seeded random times, on 2 worker threads', async () => {
    const out = join(dir, 'kill-random');
    const rng = new Rng(13);
    let interrupted = 0;
    for (let attempt = 0; attempt < 4; attempt++) {
      const signal = await runChild({ ...base, threads: 2, chunkLines: 50, outputDir: out }, undefined, rng.int(400));
      if (signal === null) break;
      if (existsSync(join(out, '.prepare'))) interrupted++;
    }
    expect(interrupted).toBeGreaterThan(0);
    await prepareLmData({ ...base, threads: 2, chunkLines: 50, outputDir: out });
    expect(outputBytes(out)).toEqual(reference);
    const stats = JSON.parse(await readFile(join(out, PACKED_FILES.stats), 'utf8')) as PreparedStats;
    expect(stats.documents).toBe(2700);
    expect(stats.lines).toBe(3000);
  }, 120_000);
});
