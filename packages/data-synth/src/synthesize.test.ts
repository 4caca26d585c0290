import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fillTemplate, type PrecomputedExample } from '@proj/align';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateFrozenDev } from './generate-frozen-dev';
import { synthesizeFile } from './synthesize';

const data = (path: string) => fileURLToPath(new URL(`../../../apps/gap-relm/data/${path}`, import.meta.url));
const confusionFiles = [data('confusion/same_pinyin.txt'), data('confusion/same_stroke.txt')];
const FIELDS = ['source', 'target', 'op_labels', 'insert_labels', 'template_tokens', 'gold_tokens', 'mask_positions'];

let dir: string;
let cleanFile: string;
let cleanLines: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synth-'));
  // 3,000 corpus sentences plus lines every reader must survive: blanks, too short, no Han.
  const corpus = (await readFile(data('corpus/wiki.zh-cn.txt'), 'utf8')).split('\n').slice(0, 3000);
  cleanLines = [...corpus.slice(0, 1000), '', '好', 'hello world', '   ', ...corpus.slice(1000)];
  cleanFile = join(dir, 'clean.txt');
  await writeFile(cleanFile, cleanLines.join('\n'));
});

const run = (name: string, options: Partial<Parameters<typeof synthesizeFile>[0]>) =>
  synthesizeFile({ cleanFile, outputFile: join(dir, name), confusionFiles, progress: false, ...options });

describe('synthesizeFile', () => {
  it('static: 1 and 2 threads (and chunk sizes) give byte-identical files; the summary adds up', async () => {
    const one = await run('static-1.jsonl', { threads: 1, chunkSize: 512 });
    const two = await run('static-2.jsonl', { threads: 2, chunkSize: 97 });
    const bytes = await readFile(join(dir, 'static-1.jsonl'));
    expect((await readFile(join(dir, 'static-2.jsonl'))).equals(bytes)).toBe(true);
    expect(two).toEqual(one);

    const sentences = cleanLines.filter((l) => l.trim() !== '').length;
    expect(one.sentences).toBe(sentences);
    expect(one.examples).toBe(2 * sentences); // num_negative = 1: positive + one corruption
    expect(one.positives + one.negatives).toBe(one.examples);
    // "好" is too short and "hello world" has no Han character: both become positives, counted.
    expect(one.uncorruptibleByReason).toEqual({ too_short: 1, no_eligible_position: 1 });
    expect(one.positives).toBe(sentences + 2);
    expect(one.rejected).toEqual({}); // non-adjacent edits keep every insertion run at 1
    expect(one.skipped.count).toBe(0);

    const lines = bytes.toString('utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(one.examples);
    lines.forEach((line, i) => {
      const ex = JSON.parse(line) as PrecomputedExample;
      expect(Object.keys(ex)).toEqual(FIELDS);
      expect(fillTemplate(ex.template_tokens, ex.gold_tokens).join('')).toBe(ex.target);
      if (i % 2 === 0) expect(ex.source).toBe(ex.target); // the positive comes first
    });
    // Input order: example 2k's target is the k-th clean sentence.
    expect(JSON.parse(lines[2 * 1001]).target).toBe('hello world'); // after 1,000 sentences, a blank and "好"
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));
  });

  it('online: thread-independent, reproducible per epoch, different across epochs, p_corrupt respected', async () => {
    const config = { p_corrupt: 0.6, seed: 3 };
    await run('e1-a.jsonl', { mode: { kind: 'online', epoch: 1 }, threads: 1, config });
    const summary = await run('e1-b.jsonl', { mode: { kind: 'online', epoch: 1 }, threads: 2, chunkSize: 200, config });
    await run('e2.jsonl', { mode: { kind: 'online', epoch: 2 }, threads: 2, config });
    const a = await readFile(join(dir, 'e1-a.jsonl'), 'utf8');
    expect(await readFile(join(dir, 'e1-b.jsonl'), 'utf8')).toBe(a);
    expect(await readFile(join(dir, 'e2.jsonl'), 'utf8')).not.toBe(a);
    expect(summary.examples).toBe(summary.sentences);
    expect(summary.negatives / summary.sentences).toBeCloseTo(0.6, 1);
  });

  it('jsonl input: bad lines are skipped and counted, not thrown', async () => {
    const file = join(dir, 'clean.jsonl');
    await writeFile(file, ['{"text":"我们今天去公园散步。"}', '{oops', '{"text":"他的书放在桌子上。"}', '{"txt":"x"}'].join('\n'));
    const summary = await synthesizeFile({ cleanFile: file, format: 'jsonl', outputFile: join(dir, 'j.jsonl'), threads: 1, progress: false });
    expect(summary.sentences).toBe(2);
    expect(summary.skipped).toMatchObject({ count: 2, byReason: { invalid_json: 1, missing_field: 1 } });
    expect(summary.skipped.examples[0]).toMatch(/clean\.jsonl:2: invalid JSON/);
  });

  it('checks its arguments before starting workers', async () => {
    await expect(run('x.jsonl', { threads: 0 })).rejects.toThrow('synthesizeFile: threads must be an integer >= 1, got 0');
    await expect(run('x.jsonl', { config: { pi_skip: -1 } })).rejects.toThrow('synthesizeFile: invalid synthesis config: pi_skip: must be >= 0, got -1');
    await expect(run('x.jsonl', { confusionFiles: [join(dir, 'nope.txt')] })).rejects.toThrow(/cannot tell the format/);
  });
});

describe('generateFrozenDev', () => {
  it('same seed + same file ⇒ byte-identical; another seed ⇒ another sample', async () => {
    const options = { cleanFile, numSamples: 300, confusionFiles };
    const first = await generateFrozenDev({ ...options, outputFile: join(dir, 'dev-a.jsonl') });
    await generateFrozenDev({ ...options, outputFile: join(dir, 'dev-b.jsonl') });
    await generateFrozenDev({ ...options, outputFile: join(dir, 'dev-c.jsonl'), config: { seed: 43 } });
    const a = await readFile(join(dir, 'dev-a.jsonl'), 'utf8');
    expect(await readFile(join(dir, 'dev-b.jsonl'), 'utf8')).toBe(a);
    expect(await readFile(join(dir, 'dev-c.jsonl'), 'utf8')).not.toBe(a);

    const examples = a.trimEnd().split('\n').map((l) => JSON.parse(l) as PrecomputedExample);
    expect(examples).toHaveLength(300);
    expect(first.sentences).toBe(300);
    expect(new Set(examples.map((e) => e.target)).size).toBeGreaterThan(290); // sampled without replacement
    // Kept in file order.
    const order = examples.map((e) => cleanLines.indexOf(e.target));
    expect([...order].sort((x, y) => x - y)).toEqual(order);
    expect(first.negatives / 300).toBeCloseTo(0.8, 1); // p_corrupt default
  });

  it('takes the whole file when numSamples exceeds it', async () => {
    const small = join(dir, 'small.txt');
    await writeFile(small, '我们今天去公园散步。\n他的书放在桌子上。\n');
    const summary = await generateFrozenDev({ cleanFile: small, numSamples: 10, outputFile: join(dir, 'dev-small.jsonl') });
    expect(summary.sentences).toBe(2);
    await expect(generateFrozenDev({ cleanFile: small, numSamples: 0, outputFile: join(dir, 'x') })).rejects.toThrow(
      'generateFrozenDev: numSamples must be an integer >= 1, got 0',
    );
  });
});
