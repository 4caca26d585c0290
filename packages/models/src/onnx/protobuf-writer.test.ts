import { describe, expect, it } from 'vitest';
import { ProtoWriter } from './protobuf-writer';
import { readFields } from './read';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ProtoWriter', () => {
  // Bytes computed by hand from the protobuf encoding spec (the first and packed cases are its own examples).
  it.each([
    ['varint 150 in field 1', (w: ProtoWriter) => w.varint(1, 150), '089601'],
    ['varint 0', (w: ProtoWriter) => w.varint(1, 0), '0800'],
    ['varint 2^35 (bigint)', (w: ProtoWriter) => w.varint(1, 2n ** 35n), '08808080808001'],
    ['negative int64 is 10 bytes', (w: ProtoWriter) => w.varint(3, -1), '18ffffffffffffffffff01'],
    ['bool true, field 20 (two-byte tag)', (w: ProtoWriter) => w.varint(20, true), 'a00101'],
    ['string "testing" in field 2', (w: ProtoWriter) => w.string(2, 'testing'), '120774657374696e67'],
    ['fixed32 1 in field 5', (w: ProtoWriter) => w.fixed32(5, 1), '2d01000000'],
    ['fixed64 -2 in field 6', (w: ProtoWriter) => w.fixed64(6, -2n), '31feffffffffffffff'],
    ['float 1.0 in field 2', (w: ProtoWriter) => w.float(2, 1), '150000803f'],
    ['double -2.0 in field 1', (w: ProtoWriter) => w.double(1, -2), '0900000000000000c0'],
    ['packed varints [3, 270, 86942] in field 4', (w: ProtoWriter) => w.packedVarints(4, [3, 270, 86942]), '2206038e029ea705'],
    ['packed floats [1, -2] in field 7', (w: ProtoWriter) => w.packedFloats(7, [1, -2]), '3a080000803f000000c0'],
    ['empty packed list writes nothing', (w: ProtoWriter) => w.packedVarints(4, []), ''],
    ['nested message', (w: ProtoWriter) => w.message(3, (m) => m.varint(1, 150)), '1a03089601'],
    ['fields in call order', (w: ProtoWriter) => w.varint(1, 1).string(2, 'a'), '0801120161'],
  ])('%s', (_name, write, want) => {
    const w = new ProtoWriter();
    write(w);
    expect(hex(w.finish())).toBe(want);
    expect(w.length).toBe(want.length / 2);
  });

  it('keeps large payloads intact across chunks and reads back field by field', () => {
    const payload = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) % 251);
    const w = new ProtoWriter().varint(1, 7).bytes(2, payload).string(3, 'end');
    const out = w.finish();
    // 5000 = 0b1001110001000 → varint 0x88 0x27.
    expect(hex(out.subarray(0, 5))).toBe('0807128827');
    expect(out.length).toBe(2 + 3 + 5000 + 5);
    const fields = readFields(out);
    expect(fields.map((f) => [f.field, f.wire])).toEqual([[1, 0], [2, 2], [3, 2]]);
    expect(fields[0].value).toBe(7n);
    expect(Array.from(fields[1].value as Uint8Array)).toEqual(Array.from(payload));
    expect(new TextDecoder().decode(fields[2].value as Uint8Array)).toBe('end');
  });

  it('rejects bad field numbers and non-integer varints, naming the value', () => {
    expect(() => new ProtoWriter().varint(0, 1)).toThrow('ProtoWriter: field number must be in [1, 2^29), got 0');
    expect(() => new ProtoWriter().varint(1, 1.5)).toThrow('ProtoWriter.varint: value must be a safe integer, got 1.5');
    expect(() => new ProtoWriter().varint(1, 2 ** 60)).toThrow(/safe integer, got 1152921504606847000/);
  });
});

describe('readFields', () => {
  it('names truncated input', () => {
    expect(() => readFields(Uint8Array.from([0x08, 0x96]))).toThrow('readFields: truncated varint at byte 2');
    expect(() => readFields(Uint8Array.from([0x12, 0x05, 0x61]))).toThrow('readFields: field of 5 bytes at byte 2 runs past the end (3)');
  });
});
