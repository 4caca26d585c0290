import { describe, expect, it } from 'vitest';
import { parseSafetensors, safetensorsToFloat32, serializeSafetensors, type SafetensorsTensor } from './safetensors';

describe('safetensors', () => {
  it('round-trips tensors, order and metadata', () => {
    const tensors: [string, SafetensorsTensor][] = [
      ['b.weight', { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6.5]) }],
      ['a.ids', { dtype: 'I64', shape: [2], data: BigInt64Array.from([7n, -1n]) }],
      ['c.half', { dtype: 'F16', shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x3555]) }],
    ];
    const bytes = serializeSafetensors(tensors, { format: 'pt' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const parsed = parseSafetensors(bytes);
    expect([...parsed.tensors.keys()]).toEqual(['b.weight', 'a.ids', 'c.half']);
    expect(parsed.metadata).toEqual({ format: 'pt' });
    expect(Array.from(parsed.tensors.get('b.weight')!.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6.5]);
    expect(parsed.tensors.get('a.ids')!.data).toEqual(BigInt64Array.from([7n, -1n]));
    const half = safetensorsToFloat32(parsed.tensors.get('c.half')!);
    expect(half[0]).toBe(1);
    expect(half[1]).toBe(-2);
    expect(half[2]).toBeCloseTo(0.33325, 5);
  });

  it('reads a file laid out by hand as the spec describes', () => {
    const header = '{"x":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}';
    const headerBytes = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + headerBytes.length + 4);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
    bytes.set(headerBytes, 8);
    // bfloat16 1.0 = 0x3f80, -3.0 = 0xc040, little-endian.
    bytes.set([0x80, 0x3f, 0x40, 0xc0], 8 + headerBytes.length);
    expect(Array.from(safetensorsToFloat32(parseSafetensors(bytes).tensors.get('x')!))).toEqual([1, -3]);
  });

  it('names the file and tensor when offsets do not fit', () => {
    const bytes = serializeSafetensors([['w', { dtype: 'F32', shape: [4], data: new Float32Array(4) }]]);
    expect(() => parseSafetensors(bytes.subarray(0, bytes.length - 4), 'model.safetensors')).toThrow(/^model\.safetensors: tensor "w" \(F32 \[4\]\)/);
    expect(() => serializeSafetensors([['w', { dtype: 'F32', shape: [3], data: new Float32Array(4) }]])).toThrow(/has 4 values but shape \[3\] needs 3/);
  });
});
