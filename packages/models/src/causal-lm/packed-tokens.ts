import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The packed pretraining corpus `mateconv prepare` writes into a directory:
 *
 * - `tokens.bin`: every kept document's ids back to back, little-endian uint16 when the
 *   vocabulary fits (≤ 65,536 entries) else uint32;
 * - `index.bin`: documents + 1 little-endian uint64 token offsets (0, end of doc 0, end of doc 1, ...);
 * - `stats.json`: `PackedStats` (dtype, counts, length histogram, duplicates, rejects); written last,
 *   so its presence means the other two are complete.
 */
export const PACKED_FILES = { tokens: 'tokens.bin', index: 'index.bin', stats: 'stats.json' } as const;

export type TokenDType = 'uint16' | 'uint32';

/** uint16 when every id fits, else uint32. */
export function tokenDTypeFor(vocabSize: number): TokenDType {
  if (!Number.isInteger(vocabSize) || vocabSize < 1) throw new RangeError(`tokenDTypeFor: vocabSize must be a positive integer, got ${vocabSize}`);
  return vocabSize <= 65_536 ? 'uint16' : 'uint32';
}

export function bytesPerToken(dtype: TokenDType): number {
  return dtype === 'uint16' ? 2 : 4;
}

/** Ids as little-endian bytes of `dtype`; throws on an id that does not fit. */
export function encodeTokenBytes(ids: ArrayLike<number>, dtype: TokenDType): Buffer {
  const width = bytesPerToken(dtype);
  const max = dtype === 'uint16' ? 0xffff : 0xffffffff;
  const out = Buffer.allocUnsafe(ids.length * width);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0 || id > max) throw new RangeError(`encodeTokenBytes: id ${id} does not fit ${dtype}`);
    if (width === 2) out.writeUInt16LE(id, i * 2);
    else out.writeUInt32LE(id, i * 4);
  }
  return out;
}

/** Token offsets as little-endian uint64 bytes (the index entries). */
export function encodeIndexBytes(offsets: readonly number[]): Buffer {
  const out = Buffer.allocUnsafe(offsets.length * 8);
  offsets.forEach((offset, i) => out.writeBigUInt64LE(BigInt(offset), i * 8));
  return out;
}

/** The statistics file of a packed corpus (`stats.json`). */
export interface PackedStats {
  format: 'mateconv-packed-tokens/1';
  dtype: TokenDType;
  vocab_size: number;
  documents: number;
  tokens: number;
  [key: string]: unknown;
}

/**
 * Reads a packed corpus without loading `tokens.bin`: the index (8 bytes a document) is read
 * whole, tokens are read from the file on demand. Training takes fixed windows of
 * `seqLen + 1` tokens (inputs and next-token targets) across document boundaries.
 */
export class PackedTokens {
  private constructor(
    readonly dir: string,
    readonly stats: PackedStats,
    /** Token offset where each document starts, and the total at the end (documents + 1 entries). */
    readonly offsets: Float64Array,
    private readonly file: FileHandle,
  ) {}

  static async open(dir: string): Promise<PackedTokens> {
    const statsFile = join(dir, PACKED_FILES.stats);
    let stats: PackedStats;
    try {
      stats = JSON.parse(await readFile(statsFile, 'utf8')) as PackedStats;
    } catch (error) {
      throw new Error(`PackedTokens.open: ${statsFile}: ${(error as Error).message} (is ${dir} a finished \`mateconv prepare\` output?)`);
    }
    if (stats.format !== 'mateconv-packed-tokens/1') throw new Error(`PackedTokens.open: ${statsFile}: unknown format ${JSON.stringify(stats.format)}`);
    const indexBytes = await readFile(join(dir, PACKED_FILES.index));
    if (indexBytes.length !== (stats.documents + 1) * 8) {
      throw new Error(`PackedTokens.open: ${PACKED_FILES.index} has ${indexBytes.length} bytes, expected ${(stats.documents + 1) * 8} for ${stats.documents} documents`);
    }
    const offsets = new Float64Array(stats.documents + 1);
    for (let i = 0; i <= stats.documents; i++) offsets[i] = Number(indexBytes.readBigUInt64LE(i * 8));
    const file = await open(join(dir, PACKED_FILES.tokens), 'r');
    const { size } = await file.stat();
    if (size !== stats.tokens * bytesPerToken(stats.dtype) || offsets[stats.documents] !== stats.tokens) {
      await file.close();
      throw new Error(`PackedTokens.open: ${PACKED_FILES.tokens} has ${size} bytes, expected ${stats.tokens} ${stats.dtype} tokens`);
    }
    return new PackedTokens(dir, stats, offsets, file);
  }

  get numTokens(): number {
    return this.stats.tokens;
  }

  get numDocuments(): number {
    return this.stats.documents;
  }

  /** Tokens [start, start + length) as int32 (the dtype the models take). */
  async read(start: number, length: number): Promise<Int32Array> {
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > this.numTokens) {
      throw new RangeError(`PackedTokens.read: [${start}, ${start + length}) is outside [0, ${this.numTokens})`);
    }
    const width = bytesPerToken(this.stats.dtype);
    const bytes = Buffer.alloc(length * width);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await this.file.read(bytes, done, bytes.length - done, start * width + done);
      if (bytesRead === 0) throw new Error(`PackedTokens.read: ${PACKED_FILES.tokens} ended early at byte ${start * width + done}`);
      done += bytesRead;
    }
    const out = new Int32Array(length);
    for (let i = 0; i < length; i++) out[i] = width === 2 ? bytes.readUInt16LE(i * 2) : bytes.readUInt32LE(i * 4);
    return out;
  }

  /** The ids of document `i`. */
  async document(i: number): Promise<Int32Array> {
    if (!Number.isInteger(i) || i < 0 || i >= this.numDocuments) throw new RangeError(`PackedTokens.document: i must be in [0, ${this.numDocuments}), got ${i}`);
    return this.read(this.offsets[i], this.offsets[i + 1] - this.offsets[i]);
  }

  /** How many windows of `seqLen + 1` tokens, stepping by `seqLen`, fit in the corpus. */
  numWindows(seqLen: number): number {
    if (!Number.isInteger(seqLen) || seqLen < 1) throw new RangeError(`PackedTokens.numWindows: seqLen must be a positive integer, got ${seqLen}`);
    return Math.max(0, Math.floor((this.numTokens - 1) / seqLen));
  }

  /** Window `i`: tokens [i·seqLen, (i+1)·seqLen + 1), inputs `[0, seqLen)` and targets `[1, seqLen]`. */
  async window(i: number, seqLen: number): Promise<Int32Array> {
    const n = this.numWindows(seqLen);
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`PackedTokens.window: i must be in [0, ${n}), got ${i}`);
    return this.read(i * seqLen, seqLen + 1);
  }

  async close(): Promise<void> {
    await this.file.close();
  }
}
