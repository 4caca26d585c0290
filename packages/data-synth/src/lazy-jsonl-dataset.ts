import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { DataError, writeFileAtomic } from '@proj/core';

/** "JLOI" little-endian: JSONL offset index. */
const MAGIC = 0x494f4c4a;
const VERSION = 1;
/** magic u32, version u32, file size f64, mtimeMs f64, record count f64. */
const HEADER_BYTES = 32;

export interface LazyJsonlOptions {
  /** Where to keep the index; default beside the file as `<file>.offsets.idx`. */
  cacheDir?: string;
}

/** How `open` got its index. */
export type IndexStatus = 'built' | 'reused';

/**
 * Random access to a JSONL file too large to parse up front. Opening streams the file once to
 * record where each non-blank line starts (one float64 per line, plus the file end), and caches
 * that index on disk with the file's size and mtime; later opens reuse it until the file changes.
 * `get(i)` then reads exactly one line with a positioned read.
 *
 * The index describes the file as it was at `open`; reopen after changing the file.
 */
export class LazyJsonlDataset<T = unknown> implements AsyncIterable<T> {
  private constructor(
    readonly file: string,
    readonly indexFile: string,
    /** Start of record i at [i]; the file size at [length], so record i ends before [i + 1]. */
    private readonly offsets: Float64Array,
    private readonly handle: FileHandle,
    /** Whether this open built the index or reused the cached one. */
    readonly indexStatus: IndexStatus,
  ) {}

  static async open<T = unknown>(file: string, options: LazyJsonlOptions = {}): Promise<LazyJsonlDataset<T>> {
    const indexFile = indexPathFor(file, options.cacheDir);
    const before = await stat(file);
    let offsets = await readIndex(indexFile, before.size, before.mtimeMs);
    let status: IndexStatus = 'reused';
    if (!offsets) {
      offsets = await buildOffsets(file);
      const after = await stat(file);
      if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) {
        throw new Error(`LazyJsonlDataset.open: ${file} changed while it was being indexed; open it again`);
      }
      await writeFileAtomic(indexFile, encodeIndex(offsets, before.size, before.mtimeMs));
      status = 'built';
    }
    return new LazyJsonlDataset<T>(file, indexFile, offsets, await open(file, 'r'), status);
  }

  /** Number of records (non-blank lines). */
  get length(): number {
    return this.offsets.length - 1;
  }

  /** Bytes held by the index in memory: 8 per record, plus 8. */
  get indexBytes(): number {
    return this.offsets.byteLength;
  }

  /**
   * Bytes from record i's start to the next record's (its line, line break and any blank lines
   * after it), from the index alone: a cheap size of the record, e.g. to batch by length.
   */
  byteLength(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`LazyJsonlDataset.byteLength: index must be an integer in [0, ${this.length}), got ${i}`);
    }
    return this.offsets[i + 1] - this.offsets[i];
  }

  /** Record i's line, without its line break. */
  async getRaw(i: number): Promise<string> {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) {
      throw new RangeError(`LazyJsonlDataset.getRaw: index must be an integer in [0, ${this.length}), got ${i}`);
    }
    const start = this.offsets[i];
    const buffer = Buffer.allocUnsafe(this.offsets[i + 1] - start);
    let read = 0;
    while (read < buffer.length) {
      const { bytesRead } = await this.handle.read(buffer, read, buffer.length - read, start + read);
      if (bytesRead === 0) throw new Error(`LazyJsonlDataset.getRaw: ${this.file} is shorter than its index; reopen it`);
      read += bytesRead;
    }
    // The span runs to the next record, so it may hold the line break and blank lines: trim them.
    return buffer.toString('utf8').trimEnd();
  }

  /** Record i parsed as JSON; a bad line is a DataError naming file:line. */
  async get(i: number): Promise<T> {
    const raw = await this.getRaw(i);
    try {
      return JSON.parse(raw) as T;
    } catch (error) {
      throw new DataError(`invalid JSON: ${(error as Error).message}`, { file: this.file, line: await this.lineNumberOf(i) });
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (let i = 0; i < this.length; i++) yield await this.get(i);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /** 1-based line of record i (blank lines are not records); only needed for error messages. */
  private async lineNumberOf(i: number): Promise<number> {
    const end = this.offsets[i];
    let newlines = 0;
    let position = 0;
    const buffer = Buffer.allocUnsafe(1 << 20);
    while (position < end) {
      const { bytesRead } = await this.handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
      if (bytesRead === 0) break;
      const data = buffer.subarray(0, bytesRead);
      for (let at = data.indexOf(0x0a); at !== -1; at = data.indexOf(0x0a, at + 1)) newlines++;
      position += bytesRead;
    }
    return newlines + 1;
  }
}

function indexPathFor(file: string, cacheDir: string | undefined): string {
  if (cacheDir === undefined) return `${file}.offsets.idx`;
  // Two files with one name in different folders must not share an index.
  const hash = createHash('sha256').update(resolve(file)).digest('hex').slice(0, 16);
  return join(cacheDir, `${basename(file)}.${hash}.offsets.idx`);
}

async function readIndex(indexFile: string, size: number, mtimeMs: number): Promise<Float64Array | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(indexFile);
  } catch {
    return undefined; // no index yet
  }
  if (bytes.length < HEADER_BYTES) return undefined;
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER_BYTES);
  const records = header.getFloat64(24, true);
  const valid =
    header.getUint32(0, true) === MAGIC &&
    header.getUint32(4, true) === VERSION &&
    header.getFloat64(8, true) === size &&
    header.getFloat64(16, true) === mtimeMs &&
    bytes.length === HEADER_BYTES + 8 * (records + 1);
  if (!valid) return undefined;
  // Copy into an aligned buffer (a Buffer's byteOffset need not be a multiple of 8).
  const offsets = new Float64Array(records + 1);
  new Uint8Array(offsets.buffer).set(bytes.subarray(HEADER_BYTES));
  return offsets;
}

function encodeIndex(offsets: Float64Array, size: number, mtimeMs: number): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + offsets.byteLength);
  const header = new DataView(out.buffer, 0, HEADER_BYTES);
  header.setUint32(0, MAGIC, true);
  header.setUint32(4, VERSION, true);
  header.setFloat64(8, size, true);
  header.setFloat64(16, mtimeMs, true);
  header.setFloat64(24, offsets.length - 1, true);
  // Offsets in native order; every platform Node ships on is little-endian, like the header.
  out.set(new Uint8Array(offsets.buffer, offsets.byteOffset, offsets.byteLength), HEADER_BYTES);
  return out;
}

const isBlankByte = (b: number) => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;

/** Streams the file once: the start of every non-blank line, then the file size. */
async function buildOffsets(file: string): Promise<Float64Array> {
  let offsets = new Float64Array(1024);
  let count = 0;
  let position = 0; // file offset of chunk[0]
  let lineStart = 0;
  let lineHasText = false;
  const push = (offset: number) => {
    if (count === offsets.length) {
      const grown = new Float64Array(offsets.length * 2);
      grown.set(offsets);
      offsets = grown;
    }
    offsets[count++] = offset;
  };
  let first = true;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let i = 0;
    if (first) {
      first = false;
      // A UTF-8 byte-order mark is not part of the first record.
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) lineStart = i = 3;
    }
    while (i < chunk.length) {
      if (!lineHasText) {
        // Scan for the first non-blank byte of the line; most lines start with "{" at once.
        while (i < chunk.length && chunk[i] !== 0x0a && isBlankByte(chunk[i])) i++;
        if (i < chunk.length && chunk[i] !== 0x0a) lineHasText = true;
      }
      const newline = chunk.indexOf(0x0a, i);
      if (newline === -1) break; // the line continues in the next chunk
      if (lineHasText) push(lineStart);
      lineStart = position + newline + 1;
      lineHasText = false;
      i = newline + 1;
    }
    position += chunk.length;
  }
  if (lineHasText) push(lineStart); // last line without a newline
  push(position);
  return offsets.slice(0, count);
}
