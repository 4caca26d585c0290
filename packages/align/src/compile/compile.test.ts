import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillTemplate } from '../template';
import type { PrecomputedExample } from '../types';
import { compile, type CompileOptions } from './compile';
import { detectFormat, explainFormat } from './detect-format';

const fixture = (name: string) => fileURLToPath(new URL(`../../test/fixtures/${name}`, import.meta.url));
const bundledSighan15 = fileURLToPath(new URL('../../../../apps/gap-relm/data/sighan/sighan15-test.txt', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'align-compile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(options: Omit<CompileOptions, 'output'> & { name: string }) {
  const output = join(dir, `${options.name}.jsonl`);
  const summary = await compile({ progress: false, threads: 1, ...options, output });
  const text = await readFile(output, 'utf8');
  const rejectsText = await readFile(summary.rejectsPath, 'utf8');
  const records = text === '' ? [] : text.trimEnd().split('\n').map((line) => JSON.parse(line) as PrecomputedExample);
  const rejects = rejectsText === '' ? [] : rejectsText.trimEnd().split('\n').map((line) => JSON.parse(line) as { file: string; line: number; reason: string });
  return { summary, text, records, rejects };
}

async function tempFile(name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content, 'utf8');
  return path;
}

describe('compile: SIGHAN-15 fixtures', () => {
  it('compiles the ECSpell tsv with one record per line, in input order', async () => {
    const { summary, records, rejects } = await run({ name: 'ecspell', input: fixture('sighan15-ecspell.tsv'), format: 'sighan-tsv' });
    expect(summary).toMatchObject({ format: 'sighan-tsv', read: 13, written: 13, rejected: {}, skipped: { count: 0, examples: [] } });
    expect(rejects).toEqual([]);
    const lines = (await readFile(fixture('sighan15-ecspell.tsv'), 'utf8')).trimEnd().split('\n');
    expect(records.map((r) => [r.source, r.target])).toEqual(lines.map((l) => l.split('\t').slice(1)));
    // Line 2: 朋唷 → 朋友 is one REPLACE at source token 9 (slot 10).
    expect(records[1].op_labels[10]).toBe(2);
    expect(records[1].gold_tokens).toEqual(['友']);
    for (const r of records) {
      expect(Object.keys(r)).toEqual(['source', 'target', 'op_labels', 'insert_labels', 'template_tokens', 'gold_tokens', 'mask_positions']);
      expect(fillTemplate(r.template_tokens, r.gold_tokens).join('')).toBe(r.target);
    }
  });

  it('gives byte-identical records from the official TestInput+TestTruth pair', async () => {
    const tsv = await run({ name: 'ecspell-2', input: fixture('sighan15-ecspell.tsv'), format: 'sighan-tsv' });
    const official = await run({ name: 'official', input: fixture('sighan15-TestInput.txt'), format: 'sighan-official' });
    expect(official.summary).toMatchObject({ read: 13, written: 13, rejected: {}, skipped: { count: 0 } });
    expect(official.text).toBe(tsv.text);
  });

  it('gives the same records for the error sentences from SGML', async () => {
    const tsv = await run({ name: 'ecspell-3', input: fixture('sighan15-ecspell.tsv'), format: 'sighan-tsv' });
    const sgml = await run({ name: 'sgml', input: fixture('sighan15-test.sgml'), format: 'sighan-sgml' });
    expect(sgml.summary).toMatchObject({ read: 7, written: 7, rejected: {}, skipped: { count: 0 } });
    const withErrors = tsv.records.filter((r) => r.source !== r.target);
    expect(sgml.records.map((r) => r.source)).toEqual(withErrors.map((r) => r.source));
    // Data quirk (see README): the SGML keeps the traditional CORRECTION 週 for A2-2328-1, where
    // the simplified sets have a no-op 周 → 周; every other record is identical.
    const differ = sgml.records.flatMap((r, i) => (JSON.stringify(r) === JSON.stringify(withErrors[i]) ? [] : [r.target]));
    expect(differ).toEqual(['现在我在台北七个半月了，週末的时候我跟同学练习中文还有一起去看电影。']);
  });

  it.each([
    { name: 'sighan-tsv', input: 'sighan15-ecspell.tsv' },
    { name: 'sighan-official', input: 'sighan15-TestInput.txt' },
    { name: 'sighan-sgml', input: 'sighan15-test.sgml' },
    { name: 'mucgec', input: 'mucgec-dev.txt' },
  ] as const)('writes the same bytes on 1 and 2 threads ($name)', async ({ name, input }) => {
    const one = await run({ name: `${name}-t1`, input: fixture(input), format: name, threads: 1 });
    const two = await run({ name: `${name}-t2`, input: fixture(input), format: name, threads: 2, batchSize: 2 });
    expect(two.text).toBe(one.text);
    expect(await readFile(two.summary.rejectsPath, 'utf8')).toBe(await readFile(one.summary.rejectsPath, 'utf8'));
    expect(two.summary).toEqual({ ...one.summary, output: two.summary.output, rejectsPath: two.summary.rejectsPath });
    expect(one.summary.written).toBeGreaterThan(0);
  });

  it('leaves no temp files behind', async () => {
    const names = await readdir(dir);
    expect(names.filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('compile: formats and policies', () => {
  it('detects every fixture format', async () => {
    expect(await detectFormat(fixture('sighan15-ecspell.tsv'))).toBe('sighan-tsv');
    expect(await detectFormat(fixture('sighan15-TestInput.txt'))).toBe('sighan-official');
    expect(await detectFormat(fixture('sighan15-test.sgml'))).toBe('sighan-sgml');
    expect(await detectFormat(fixture('mucgec-dev.txt'))).toBe('mucgec');
    expect(await detectFormat(await tempFile('pairs.tsv', '我朋唷\t我朋友\n你好\t你好\n'))).toBe('tsv');
    const unnamedMucgec = await tempFile('dev.txt', '1\t他去学校。\t他去了学校。\n2\t好\t好\n');
    expect(await detectFormat(unnamedMucgec)).toBe('mucgec');
    await expect(detectFormat(await tempFile('empty.txt', '\n\n'))).rejects.toThrow(/detectFormat: .*empty.txt has no non-blank line/);
  });

  it('a few malformed lines do not switch a TSV to another format; the reason is given', async () => {
    const pairs = Array.from({ length: 20 }, (_, i) => `我朋唷${i}\t我朋友${i}`);
    const tsv = await tempFile('mostly-pairs.tsv', [...pairs.slice(0, 5), 'a\tb\tc\td', ...pairs.slice(5)].join('\n'));
    expect(await explainFormat(tsv)).toEqual({ format: 'tsv', reason: '20 of the first 21 non-blank lines are source<TAB>target' });
    expect((await explainFormat(fixture('mucgec-dev.txt'))).reason).toBe('the file name contains "mucgec"');
    await expect(detectFormat(await tempFile('prose.txt', '今天天气很好。\n我们去公园。\n'))).rejects.toThrow(/prose\.txt: none of the first 2 non-blank lines has a tab; pass format/);
  });

  it('auto-detects when format is omitted', async () => {
    const { summary } = await run({ name: 'auto', input: fixture('sighan15-TestInput.txt') });
    expect(summary.format).toBe('sighan-official');
    expect(summary.written).toBe(13);
  });

  it("MuCGEC 'all' writes one record per distinct reference, maps 没有错误 and rejects 无法标注", async () => {
    const { summary, records, rejects } = await run({ name: 'mucgec-all', input: fixture('mucgec-dev.txt'), format: 'mucgec', maxInsertK: 10 });
    // ids 1 (2 refs), 2 (3 refs), 20 and 27 (没有错误 → source), 98 (无法标注 → reject).
    expect(summary).toMatchObject({ read: 5, written: 7, rejected: { unannotatable: 1 }, skipped: { count: 0 } });
    expect(records.filter((r) => r.source.startsWith('因为在冰箱'))).toHaveLength(2);
    const noError = records.find((r) => r.source.startsWith('除了母亲'))!;
    expect(noError.target).toBe(noError.source);
    expect(noError.op_labels.every((op) => op === 0)).toBe(true);
    expect(rejects).toEqual([{ file: fixture('mucgec-dev.txt'), line: 5, reason: expect.stringMatching(/^unannotatable: MuCGEC id 98/) }]);
  });

  it("MuCGEC 'closest' writes the reference with the fewest edits", async () => {
    const { summary, records } = await run({ name: 'mucgec-closest', input: fixture('mucgec-dev.txt'), format: 'mucgec', multiTarget: 'closest', maxInsertK: 10 });
    expect(summary).toMatchObject({ read: 5, written: 4 });
    // id 1: "即使…也能做" (2 edits) beats "即使…，也能做" (3 edits).
    expect(records[0].target).toBe('即使在冰箱里没什么东西也能做很好吃的菜。');
    // id 2: the third reference differs from the source in one character (对 → 给).
    expect(records[1].target).toBe('再说，他们可能以为自己吸烟时给别人带来的不便和不舒服也不可能很大。');
  });

  it('rejects long insertions into the rejects file with file and line', async () => {
    const input = await tempFile('long.tsv', '我\t我们\n我\t我们俩好吗\n你好\t你好\n');
    const { summary, records, rejects } = await run({ name: 'long', input, format: 'tsv' });
    expect(summary).toMatchObject({ read: 3, written: 2, rejected: { insert_too_long: 1 } });
    expect(records.map((r) => r.target)).toEqual(['我们', '你好']);
    expect(rejects).toEqual([{ file: input, line: 2, reason: 'insert_too_long: 4 tokens after slot 1 > maxInsertK=3' }]);
  });

  it('skips malformed lines with file:line examples, never crashing', async () => {
    const input = await tempFile('bad.tsv', '1\t我朋唷\t我朋友\nnot a record\nx\t好\t好\n0\t你好\t你好\n\n1\ta\tb\tc\n');
    const { summary, records } = await run({ name: 'bad', input, format: 'sighan-tsv' });
    expect(summary.read).toBe(5);
    expect(summary.written).toBe(2);
    expect(summary.skipped.count).toBe(3);
    expect(summary.skipped.examples).toEqual([
      `${input}:2: expected 3 tab-separated fields (n_errors, source, target), got 1`,
      `${input}:3: n_errors must be a non-negative integer, got "x"`,
      `${input}:6: expected 3 tab-separated fields (n_errors, source, target), got 4`,
    ]);
    expect(records.map((r) => r.target)).toEqual(['我朋友', '你好']);
  });

  it('rejects an ECSpell line whose n_errors disagrees with the pair', async () => {
    const input = await tempFile('count.tsv', '2\t我朋唷\t我朋友\n');
    const { summary, rejects } = await run({ name: 'count', input, format: 'sighan-tsv' });
    expect(summary.rejected).toEqual({ n_errors_mismatch: 1 });
    expect(rejects[0].reason).toBe('n_errors_mismatch: n_errors=2 but source and target differ at 1 characters');
  });

  it('checks official truth positions against the sentence', async () => {
    const input = await tempFile('x-Input.txt', '(pid=A)\t我朋唷\n(pid=B)\t你好\n(pid=C)\t你好\n(pid=D)\t你好\n(pid=E)\t你好\n');
    const truth = await tempFile('x-Truth.txt', 'A, 3, 友\nB, 3, 们\nC, 1, 您, 1, 你\nWRONG, 0\nE, 1\n');
    const { summary, records, rejects } = await run({ name: 'truth', input, truth, format: 'sighan-official' });
    expect(records.map((r) => r.target)).toEqual(['我朋友']);
    expect(summary.rejected).toEqual({ truth_position_out_of_range: 1, truth_duplicate_position: 1 });
    expect(rejects.map((r) => [r.line, r.reason.split(' (')[0]])).toEqual([
      [2, 'truth_position_out_of_range: position 3 but the sentence has 2 characters'],
      [3, 'truth_duplicate_position: position 1 is corrected twice'],
    ]);
    expect(summary.skipped.count).toBe(2);
    expect(summary.skipped.examples[0]).toBe(`${truth}:4: truth id WRONG does not match input id pid=D at ${input}:4`);
    expect(summary.skipped.examples[1]).toMatch(new RegExp(`^${truth}:5: expected "ID, 0" or "ID, pos, char`));
  });

  it('finds the truth file beside TestInput by name', async () => {
    await expect(compile({ input: join(dir, 'nothing-here.txt'), output: join(dir, 'o.jsonl'), format: 'sighan-official', progress: false })).rejects.toThrow(
      /sighan-official: cannot guess the truth file/,
    );
  });

  it('checks SGML mistakes against the text', async () => {
    const sgml = [
      '<ESSAY>',
      '<SENTENCE><TEXT>我朋唷</TEXT><MISTAKE><LOCATION>3</LOCATION><WRONG>唷</WRONG><CORRECTION>友</CORRECTION></MISTAKE></SENTENCE>',
      '<SENTENCE>',
      '  <TEXT>我朋唷</TEXT>',
      '  <MISTAKE><LOCATION>2</LOCATION><WRONG>唷</WRONG><CORRECTION>友</CORRECTION></MISTAKE>',
      '</SENTENCE>',
      '<SENTENCE><TEXT>你好</TEXT><MISTAKE><LOCATION>9</LOCATION><WRONG>唷</WRONG><CORRECTION>友</CORRECTION></MISTAKE></SENTENCE>',
      '<SENTENCE><TEXT>a &amp; b</TEXT></SENTENCE>',
      'stray text',
      '<SENTENCE><MISTAKE></MISTAKE></SENTENCE>',
      '<SENTENCE><TEXT>unclosed</TEXT>',
      '</ESSAY>',
    ].join('\n');
    const input = await tempFile('t.sgml', sgml);
    const { summary, records, rejects } = await run({ name: 'sgml-bad', input });
    expect(records.map((r) => r.target)).toEqual(['我朋友', 'a & b']);
    expect(rejects.map((r) => [r.line, r.reason])).toEqual([
      [3, 'truth_mismatch: WRONG "唷" at LOCATION 2 but the sentence has "朋" there'],
      [7, 'truth_position_out_of_range: LOCATION 9 (WRONG "唷") but the sentence has 2 characters'],
    ]);
    expect(summary.skipped.examples).toEqual([
      `${input}:9: text outside <SENTENCE>`,
      `${input}:10: SENTENCE has no <TEXT> or <PASSAGE>`,
      `${input}:11: <SENTENCE> is never closed`,
    ]);
  });

  it('validates its options', async () => {
    const base = { input: fixture('sighan15-ecspell.tsv'), output: join(dir, 'v.jsonl'), progress: false };
    await expect(compile({ ...base, threads: 0 })).rejects.toThrow(/compile: threads must be an integer >= 1, got 0/);
    await expect(compile({ ...base, format: 'csv' as 'tsv' })).rejects.toThrow(/compile: format must be 'auto' or one of/);
    await expect(compile({ ...base, maxInsertK: -2 })).rejects.toThrow(/compile: maxInsertK must be an integer >= 0, got -2/);
    await expect(compile({ ...base, multiTarget: 'best' as 'all' })).rejects.toThrow(/compile: multiTarget must be 'all' or 'closest', got best/);
  });
});

describe.skipIf(!existsSync(bundledSighan15))('compile: the bundled SIGHAN-15 test set', () => {
  it('compiles all 1,100 pairs with no rejects, on 2 threads', async () => {
    const { summary, records } = await run({ name: 'bundled', input: bundledSighan15, format: 'sighan-tsv', threads: 2 });
    expect(summary).toMatchObject({ read: 1100, written: 1100, rejected: {}, skipped: { count: 0 } });
    expect(records.filter((r) => r.source !== r.target)).toHaveLength(542);
    for (const r of records) expect(fillTemplate(r.template_tokens, r.gold_tokens).join('')).toBe(r.target);
  });
});
