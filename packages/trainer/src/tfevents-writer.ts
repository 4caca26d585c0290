import { closeSync, existsSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';

// ---- CRC32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord framing requires ----
const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC32C_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotate right by 15 and add a constant (so CRCs of CRCs stay useful). */
export function maskedCrc32c(bytes: Uint8Array): number {
  const crc = crc32c(bytes);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One TFRecord: uint64 length, masked CRC of the length bytes, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

// ---- a tiny protobuf writer: just the wire types Event needs ----
class ProtoWriter {
  private readonly bytes: number[] = [];

  private varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`ProtoWriter.varint: expected a safe integer >= 0, got ${value}`);
    while (value >= 0x80) {
      this.bytes.push((value % 0x80) | 0x80);
      value = Math.floor(value / 0x80);
    }
    this.bytes.push(value);
  }

  private key(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  double(field: number, value: number): this {
    this.key(field, 1);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.bytes.push(...b);
    return this;
  }

  float(field: number, value: number): this {
    this.key(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.bytes.push(...b);
    return this;
  }

  int64(field: number, value: number): this {
    this.key(field, 0);
    this.varint(value);
    return this;
  }

  bytesField(field: number, value: Uint8Array): this {
    this.key(field, 2);
    this.varint(value.length);
    this.bytes.push(...value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytesField(field, new TextEncoder().encode(value));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/**
 * An `Event` proto: 1 wall_time (double), 2 step (int64), 3 file_version (string),
 * 5 summary { repeated Value value = 1 { 1 tag (string), 2 simple_value (float) } }.
 * step 0 is omitted, as proto3 writers do for defaults.
 */
export function encodeEvent(event: { wallTime: number; step?: number; fileVersion?: string; scalars?: ReadonlyArray<readonly [string, number]> }): Uint8Array {
  const w = new ProtoWriter().double(1, event.wallTime);
  if (event.step) w.int64(2, event.step);
  if (event.fileVersion !== undefined) w.string(3, event.fileVersion);
  if (event.scalars && event.scalars.length > 0) {
    const summary = new ProtoWriter();
    for (const [tag, value] of event.scalars) summary.bytesField(1, new ProtoWriter().string(1, tag).float(2, value).finish());
    w.bytesField(5, summary.finish());
  }
  return w.finish();
}

export interface TfEventsWriterOptions {
  /** Seconds since the epoch; injectable so tests get identical bytes. Default: the clock. */
  wallTime?: () => number;
  /** Last part of the file name; default os.hostname(). */
  hostname?: string;
}

/**
 * Writes TensorBoard scalars to `<dir>/events.out.tfevents.<unix seconds>.<hostname>`. Records
 * are written synchronously, so a crash loses nothing already logged.
 */
export class TfEventsWriter {
  private fd: number | null;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly wallTime: () => number,
  ) {
    this.fd = fd;
  }

  static open(dir: string, options: TfEventsWriterOptions = {}): TfEventsWriter {
    const wallTime = options.wallTime ?? (() => Date.now() / 1000);
    const start = wallTime();
    mkdirSync(dir, { recursive: true });
    // A run resumed within the same second must not truncate the file the first part wrote:
    // take the next free suffix (TensorBoard reads every file with "tfevents" in its name).
    const base = join(dir, `events.out.tfevents.${Math.floor(start)}.${options.hostname ?? osHostname()}`);
    let path = base;
    for (let n = 1; existsSync(path); n++) path = `${base}.${n}`;
    const writer = new TfEventsWriter(path, openSync(path, 'wx'), wallTime);
    writer.write(encodeEvent({ wallTime: start, fileVersion: 'brain.Event:2' }));
    return writer;
  }

  /** One event holding all the given scalars at `step`. */
  scalars(step: number, values: Record<string, number>): void {
    const scalars = Object.entries(values).filter(([, v]) => typeof v === 'number' && Number.isFinite(v));
    if (scalars.length > 0) this.write(encodeEvent({ wallTime: this.wallTime(), step, scalars }));
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private write(data: Uint8Array): void {
    if (this.fd === null) throw new Error(`TfEventsWriter: ${this.path} is closed`);
    writeSync(this.fd, frameRecord(data));
  }
}
