import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AtomicFileWriter, writeFileAtomic } from './atomic-write';
import { readLines, parseJsonLine, stringField } from './lines';
import { DataError } from './data-error';

describe('atomic writes', () => {
  it('writeFileAtomic leaves only the final file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'core-'));
    await writeFileAtomic(join(dir, 'sub/out.txt'), 'hello');
    expect(await readFile(join(dir, 'sub/out.txt'), 'utf8')).toBe('hello');
    expect(await readdir(join(dir, 'sub'))).toEqual(['out.txt']);
  });

  it('AtomicFileWriter shows nothing until commit, and abort removes the temp file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'core-'));
    const path = join(dir, 'out.jsonl');
    const writer = await AtomicFileWriter.open(path);
    await writer.write('a\n');
    expect(await readdir(dir)).not.toContain('out.jsonl');
    await writer.commit();
    expect(await readFile(path, 'utf8')).toBe('a\n');
    const aborted = await AtomicFileWriter.open(join(dir, 'never.txt'));
    await aborted.write('x');
    await aborted.abort();
    expect(await readdir(dir)).toEqual(['out.jsonl']);
  });
});

describe('atomic writes interrupted by a signal', () => {
  it('SIGINT / SIGTERM remove the temp files of writes in progress; the handlers exist only while one is open', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'core-'));
    const before = process.listenerCount('SIGTERM');
    const beforeInt = process.listenerCount('SIGINT');
    const writer = await AtomicFileWriter.open(join(dir, 'out.txt'));
    await writer.write('partial');
    while ((await readdir(dir)).length === 0) await new Promise((resolve) => setTimeout(resolve, 5)); // the stream opens its file asynchronously
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toHaveLength(1);
    expect(process.listenerCount('SIGTERM')).toBe(before + 1);
    // Another listener stands in for the process's own handling, so the signal is not raised again here.
    const keepAlive = () => {};
    process.on('SIGTERM', keepAlive);
    try {
      process.emit('SIGTERM', 'SIGTERM');
    } finally {
      process.off('SIGTERM', keepAlive);
    }
    expect(await readdir(dir)).toEqual([]);
    expect(process.listenerCount('SIGTERM')).toBe(before);
    await writer.abort().catch(() => {});
    const done = await AtomicFileWriter.open(join(dir, 'done.txt'));
    await done.commit();
    expect(process.listenerCount('SIGINT')).toBe(beforeInt);
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});

describe('readLines / parseJsonLine', () => {
  it('numbers lines from 1, handles CRLF and a BOM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'core-'));
    const path = join(dir, 'in.txt');
    await writeFileAtomic(path, '\ufeff一\r\n二\n\n𠀀');
    const lines = [];
    for await (const l of readLines(path)) lines.push(l);
    expect(lines).toEqual([
      { line: 1, text: '一' },
      { line: 2, text: '二' },
      { line: 3, text: '' },
      { line: 4, text: '𠀀' },
    ]);
  });

  it('marks lines with bytes that are not UTF-8, and skips lines over maxLineBytes without holding them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'core-'));
    const path = join(dir, 'in.txt');
    const long = 'x'.repeat(200_000); // spans several read chunks
    await writeFile(path, Buffer.concat([Buffer.from('好\n'), Buffer.from([0xe5, 0xa5, 0x0a]), Buffer.from(`${long}\r\n末\r\n`)]));
    const lines = [];
    for await (const l of readLines(path, { maxLineBytes: 1000 })) lines.push(l);
    expect(lines).toEqual([
      { line: 1, text: '好' },
      { line: 2, text: '\ufffd', invalidUtf8: true },
      { line: 3, text: '', tooLongBytes: 200_001 },
      { line: 4, text: '末' },
    ]);
    const unbounded = [];
    for await (const l of readLines(path)) unbounded.push(l.text.length);
    expect(unbounded).toEqual([1, 1, 200_000, 1]);
  });

  it('names the file, line and field in errors', () => {
    expect(() => parseJsonLine('{bad', 'data.jsonl', 7)).toThrow(/^data\.jsonl:7: invalid JSON/);
    const error = (() => {
      try {
        stringField({ source: 3 }, 'source', 'data.jsonl', 9);
      } catch (e) {
        return e as DataError;
      }
    })();
    expect(error).toBeInstanceOf(DataError);
    expect(error?.message).toBe('data.jsonl:9 (field "source"): expected a string, got number');
  });
});
