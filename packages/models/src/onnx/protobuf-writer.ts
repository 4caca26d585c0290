/**
 * A minimal protobuf wire-format encoder: enough to write ONNX's ModelProto without a dependency.
 * Fields are appended in call order; nested messages are written by encoding them first and
 * embedding the bytes as a length-delimited field.
 */

/** Wire types of the protobuf encoding. */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, fixed32: 5 } as const;

const MASK_64 = (1n << 64n) - 1n;

export class ProtoWriter {
  private chunks: Uint8Array[] = [];
  private buf = new Uint8Array(256);
  private pos = 0;
  private total = 0;

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) this.buf = new Uint8Array(Math.max(n, 2 * this.buf.length));
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.buf.slice(0, this.pos));
    this.pos = 0;
  }

  private byte(b: number): void {
    this.reserve(1);
    this.buf[this.pos++] = b;
    this.total++;
  }

  private raw(bytes: Uint8Array): void {
    // Large payloads (tensor data) are kept as their own chunk instead of copied into the buffer.
    if (bytes.length > 4096) {
      this.flush();
      this.chunks.push(bytes);
    } else {
      this.reserve(bytes.length);
      this.buf.set(bytes, this.pos);
      this.pos += bytes.length;
    }
    this.total += bytes.length;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.total;
  }

  /** An unsigned varint (a negative int64 is written as its 10-byte two's complement, as protobuf does). */
  rawVarint(value: number | bigint): void {
    if (typeof value === 'number' && (!Number.isInteger(value) || !Number.isSafeInteger(value))) {
      throw new RangeError(`ProtoWriter.varint: value must be a safe integer, got ${value}`);
    }
    let v = BigInt(value) & MASK_64;
    if (typeof value === 'number' && value >= 0 && value < 0x80) {
      this.byte(value);
      return;
    }
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  private tag(field: number, wire: number): void {
    if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new RangeError(`ProtoWriter: field number must be in [1, 2^29), got ${field}`);
    this.rawVarint(field * 8 + wire);
  }

  /** int32 / int64 / uint64 / enum / bool field. */
  varint(field: number, value: number | bigint | boolean): this {
    this.tag(field, WireType.varint);
    this.rawVarint(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return this;
  }

  fixed32(field: number, value: number): this {
    this.tag(field, WireType.fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, value >>> 0, true);
    this.raw(b);
    return this;
  }

  fixed64(field: number, value: bigint): this {
    this.tag(field, WireType.fixed64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, value), true);
    this.raw(b);
    return this;
  }

  /** A `float` field (fixed32, IEEE 754 little-endian). */
  float(field: number, value: number): this {
    this.tag(field, WireType.fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.raw(b);
    return this;
  }

  /** A `double` field (fixed64). */
  double(field: number, value: number): this {
    this.tag(field, WireType.fixed64);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, value, true);
    this.raw(b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, WireType.lengthDelimited);
    this.rawVarint(value.length);
    this.raw(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  /** An embedded message, built by `build` on a fresh writer. */
  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated varint field (int32 / int64 / enum). Nothing is written for an empty list. */
  packedVarints(field: number, values: ArrayLike<number | bigint>): this {
    if (values.length === 0) return this;
    const inner = new ProtoWriter();
    for (let i = 0; i < values.length; i++) inner.rawVarint(values[i]);
    return this.bytes(field, inner.finish());
  }

  /** A packed repeated float field. */
  packedFloats(field: number, values: ArrayLike<number>): this {
    if (values.length === 0) return this;
    const b = new Uint8Array(4 * values.length);
    const view = new DataView(b.buffer);
    for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
    return this.bytes(field, b);
  }

  /** The encoded bytes (the writer can keep appending afterwards). */
  finish(): Uint8Array {
    this.flush();
    if (this.chunks.length === 1) return this.chunks[0];
    const out = new Uint8Array(this.total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    this.chunks = [out];
    return out;
  }
}
