import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { readCleanSentences, type CleanSentence } from './clean-corpus';

async function fixture(name: string, content: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'clean-'));
  await writeFile(join(dir, name), content);
  return join(dir, name);
}

async function collect(iterable: AsyncIterable<CleanSentence>) {
  const out: CleanSentence[] = [];
  for await (const s of iterable) out.push(s);
  return out;
}

describe('readCleanSentences', () => {
  it('txt: trims, skips blank lines, numbers lines from 1 (CRLF, BOM)', async () => {
    const file = await fixture('a.txt', '\ufeff 第一句。\r\n\r\n第二句\n   \n第三句');
    const corpus = readCleanSentences(file);
    expect(await collect(corpus)).toEqual([
      { text: '第一句。', line: 1 },
      { text: '第二句', line: 3 },
      { text: '第三句', line: 5 },
    ]);
    expect(corpus.skipped.count).toBe(0);
  });

  it('jsonl: bad lines are skipped and counted with file:line and field', async () => {
    const file = await fixture('a.jsonl', ['{"text":"一"}', '{bad', '{"sent":"二"}', '["三"]', '{"text":"  "}', '', '{"text":" 四 "}'].join('\n'));
    const corpus = readCleanSentences(file, { format: 'jsonl' });
    expect(await collect(corpus)).toEqual([
      { text: '一', line: 1 },
      { text: '四', line: 7 },
    ]);
    expect(corpus.skipped.count).toBe(4);
    expect(Object.fromEntries(corpus.skipped.byReason)).toEqual({ invalid_json: 1, missing_field: 1, not_an_object: 1, empty_text: 1 });
    expect(corpus.skipped.examples[0].startsWith(`${file}:2: invalid JSON`)).toBe(true);
    expect(corpus.skipped.examples[1]).toBe(`${file}:3 (field "text"): expected a string, got nothing`);
  });

  it('a line over maxLineBytes (one huge line) is skipped and counted, not held', async () => {
    const file = await fixture('huge.txt', `第一句\n${'长'.repeat(400_000)}\n第三句\n`);
    const corpus = readCleanSentences(file, { maxLineBytes: 1_000_000 });
    expect(await collect(corpus)).toEqual([
      { text: '第一句', line: 1 },
      { text: '第三句', line: 3 },
    ]);
    expect(corpus.skipped.examples).toEqual([`${file}:2: 1200000 bytes, over the 1000000-byte line limit`]);
    expect(readCleanSentences(file).maxLineBytes).toBe(1 << 20);
  });

  it('jsonl with a custom textField', async () => {
    const file = await fixture('b.jsonl', '{"target":"甲"}\n{"target":"乙"}\n');
    expect((await collect(readCleanSentences(file, { format: 'jsonl', textField: 'target' }))).map((s) => s.text)).toEqual(['甲', '乙']);
  });

  it('json: an array of strings or objects; bad elements are counted by element number', async () => {
    const file = await fixture('a.json', JSON.stringify(['一', { text: '二' }, 3, { other: 1 }, '  五 ']));
    const corpus = readCleanSentences(file, { format: 'json' });
    expect(await collect(corpus)).toEqual([
      { text: '一', line: 1 },
      { text: '二', line: 2 },
      { text: '五', line: 5 },
    ]);
    expect(corpus.skipped.examples).toEqual([`${file}[element 3]: expected a string or an object`, `${file}[element 4] (field "text"): expected a string, got nothing`]);
  });

  it('json: a file that is not JSON is one DataError naming it', async () => {
    const file = await fixture('bad.json', '[\n"一",\n"二"\n,,]');
    await expect(collect(readCleanSentences(file, { format: 'json' }))).rejects.toThrow(DataError);
    await expect(collect(readCleanSentences(file, { format: 'json' }))).rejects.toThrow(`${file}: invalid JSON`);
  });

  it('rejects an unknown format by name', () => {
    expect(() => readCleanSentences('x', { format: 'csv' as never })).toThrow(`readCleanSentences: format must be 'txt', 'json' or 'jsonl', got "csv"`);
  });
});
