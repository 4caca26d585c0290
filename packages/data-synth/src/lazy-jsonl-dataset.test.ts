import { appendFile, mkdtemp, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, Rng } from '@proj/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { LazyJsonlDataset } from './lazy-jsonl-dataset';

interface Row {
  i: number;
  text: string;
}

let dir: string;
let file: string;
let rows: Row[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lazy-'));
  file = join(dir, 'big.jsonl');
  // 100k lines: non-ASCII text of varying length (multi-byte offsets), some CRLF endings,
  // a few blank lines that are not records, a BOM, and no newline after the last line.
  const rng = new Rng(1);
  const pieces = ['中文', '𠀀', 'ascii', 'é', '，。', '🙂'];
  rows = Array.from({ length: 100_000 }, (_, i) => ({ i, text: Array.from({ length: rng.int(12) }, () => rng.pick(pieces)).join('') }));
  const lines = rows.map((r, i) => JSON.stringify(r) + (i % 7 === 0 ? '\r\n' : '\n') + (i % 997 === 0 ? '\n  \r\n' : ''));
  await writeFile(file, `\ufeff${lines.join('').trimEnd()}`);
});

describe('LazyJsonlDataset', () => {
  it('builds an index of ~8 bytes per line and reads any line exactly', async () => {
    const ds = await LazyJsonlDataset.open<Row>(file);
    try {
      expect(ds.indexStatus).toBe('built');
      expect(ds.length).toBe(rows.length);
      expect(ds.indexBytes).toBe(8 * (rows.length + 1));
      const onDisk = (await stat(`${file}.offsets.idx`)).size;
      expect(onDisk).toBe(32 + 8 * (rows.length + 1));
      const rng = new Rng(2);
      for (let t = 0; t < 2000; t++) {
        const i = rng.int(rows.length);
        expect(await ds.get(i)).toEqual(rows[i]);
      }
      for (const i of [0, 1, 7, 997, rows.length - 1]) expect(await ds.getRaw(i)).toBe(JSON.stringify(rows[i]));
      // A record's size from the index alone: its line in UTF-8 and the line break (CRLF on every 7th).
      for (const i of [1, 8, 500]) expect(ds.byteLength(i)).toBe(Buffer.byteLength(JSON.stringify(rows[i])) + 1);
      expect(ds.byteLength(14)).toBe(Buffer.byteLength(JSON.stringify(rows[14])) + 2);
      expect(() => ds.byteLength(-1)).toThrow(/LazyJsonlDataset.byteLength: index must be an integer/);
      await expect(ds.get(rows.length)).rejects.toThrow(`LazyJsonlDataset.getRaw: index must be an integer in [0, ${rows.length}), got ${rows.length}`);
    } finally {
      await ds.close();
    }
  });

  it('reuses the cached index, and rebuilds when size or mtime changes', async () => {
    const first = await LazyJsonlDataset.open(file);
    await first.close();
    const reused = await LazyJsonlDataset.open<Row>(file);
    expect(reused.indexStatus).toBe('reused');
    expect(await reused.get(54_321)).toEqual(rows[54_321]);
    await reused.close();

    // Same size, new mtime: the old index could be wrong, so it is rebuilt.
    const later = new Date(Date.now() + 60_000);
    await utimes(file, later, later);
    const touched = await LazyJsonlDataset.open(file);
    expect(touched.indexStatus).toBe('built');
    await touched.close();

    await appendFile(file, '\n{"i":100000,"text":"新"}\n');
    const grown = await LazyJsonlDataset.open<Row>(file);
    expect(grown.indexStatus).toBe('built');
    expect(grown.length).toBe(rows.length + 1);
    expect(await grown.get(rows.length)).toEqual({ i: 100000, text: '新' });
    await grown.close();
    // Atomic writes leave no temp files behind.
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('keeps the index in cacheDir when asked, and iterates in order', async () => {
    const small = join(dir, 'small.jsonl');
    await writeFile(small, '{"a":1}\r\n\r\n{"a":"二"}\n{"a":3}\n');
    const cacheDir = join(dir, 'cache');
    const ds = await LazyJsonlDataset.open(small, { cacheDir });
    expect(ds.indexFile.startsWith(cacheDir)).toBe(true);
    const all = [];
    for await (const row of ds) all.push(row);
    expect(all).toEqual([{ a: 1 }, { a: '二' }, { a: 3 }]);
    await ds.close();
    expect((await LazyJsonlDataset.open(small, { cacheDir })).indexStatus).toBe('reused');
  });

  it('a bad line is a DataError naming file:line (blank lines counted)', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, '{"a":1}\n\n{"a":\n{"a":3}\n');
    const ds = await LazyJsonlDataset.open(bad);
    expect(ds.length).toBe(3);
    const error = await ds.get(1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toMatch(new RegExp(`^${bad.replace(/\./g, '\\.')}:3: invalid JSON`));
    expect(await ds.get(2)).toEqual({ a: 3 });
    await ds.close();
  });

  it('an empty file has no records', async () => {
    const empty = join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    const ds = await LazyJsonlDataset.open(empty);
    expect(ds.length).toBe(0);
    await ds.close();
  });
});
