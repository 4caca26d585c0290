import { describe, expect, it } from 'vitest';
import { decodeModelProto, encodeModelProto, hasField, int64ToNumber } from './model-proto';
import { readOnnxModel } from './read';
import type { AttributeProto, ModelProto } from './onnx-schema';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

describe('encodeModelProto', () => {
  // Bytes computed by hand from the protobuf encoding spec and onnx.proto's field numbers.
  it.each([
    ['ir_version 150 (field 1, varint)', { ir_version: 150 }, '089601'],
    ['producer_name "testing" (field 2)', { producer_name: 'testing' }, '120774657374696e67'],
    ['negative int64 is 10 bytes (model_version -1, field 5)', { model_version: -1 }, '28ffffffffffffffffff01'],
    ['opset_import (field 8) with version 17, domain unset', { opset_import: [{ version: 17 }] }, '42021011'],
    ['repeated int64 dims are unpacked (proto2), AttributeType at field 20', { graph: { initializer: [{ dims: [2, 3] }], node: [{ attribute: [{ type: 2 }] }] } }, '3a0d 0a05 2a03 a00102 2a04 0802 0803'],
    ['fields in field-number order, whatever the object order', { opset_import: [{ version: 1 }], ir_version: 8 }, '0808 42021001'],
  ] as [string, ModelProto, string][])('%s', (_name, model, want) => {
    expect(hex(encodeModelProto(model))).toBe(want.replace(/\s+/g, ''));
  });
});

describe('int64 fields round-trip exactly', () => {
  const EDGE = [0, 1, -1, 127, 128, 2 ** 31 - 1, -(2 ** 31), 2 ** 32, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];

  it('dims, attribute i / ints, dim_value and raw_data', () => {
    const raw = Uint8Array.from({ length: 300 }, (_, i) => (i * 37) % 256);
    const model: ModelProto = {
      ir_version: 8,
      graph: {
        initializer: [{ name: 't', dims: EDGE, data_type: 7, raw_data: raw }],
        node: [{ op_type: 'X', attribute: [...EDGE.map((i, k): AttributeProto => ({ name: `a${k}`, type: 2, i })), { name: 'ints', type: 7, ints: EDGE }] }],
        input: [{ name: 'x', type: { tensor_type: { elem_type: 1, shape: { dim: [...EDGE.map((d) => ({ dim_value: d })), { dim_param: 'seq' }, {}] } } } }],
      },
    };
    const m = readOnnxModel(encodeModelProto(model));
    const [t] = m.graph.initializers;
    expect(t.dims).toEqual(EDGE);
    expect(Array.from(t.raw)).toEqual(Array.from(raw));
    const attrs = m.graph.nodes[0].attributes;
    expect(EDGE.map((_, k) => attrs[`a${k}`].value)).toEqual(EDGE);
    expect(attrs.ints.value).toEqual(EDGE);
    expect(m.graph.inputs[0].dims).toEqual([...EDGE, 'seq', null]);
  });

  it('a decoded int64 beyond 2^53 is an error naming the field and the exact value, not a rounded number', () => {
    // TensorProto.dims = [2^63 - 1], written as protobuf writes it (unpacked varint).
    const model = bytes('3a0c 2a0a 08 ffffffffffffffff7f');
    expect(() => readOnnxModel(model)).toThrow("readOnnxModel: dims of tensor '' must be a safe integer, got 9223372036854775807");
    expect(() => int64ToNumber({ low: 0, high: 0x80000000, unsigned: false }, 'x')).toThrow('x must be a safe integer, got -9223372036854775808');
    expect(int64ToNumber({ low: 0xffffffff, high: 0xffffffff, unsigned: false }, 'x')).toBe(-1);
  });
});

describe('decodeModelProto', () => {
  it('reads packed dims as well (files written by the earlier exporter)', () => {
    // graph { initializer { dims [packed 2, 3], data_type 1, name "w" } }
    const m = readOnnxModel(bytes('3a0b 2a09 0a020203 1001 420177'));
    expect(m.graph.initializers[0]).toMatchObject({ name: 'w', dataType: 1, dims: [2, 3] });
  });

  it('tracks proto2 presence: a field on the wire is an own property, an absent one is not', () => {
    const m = decodeModelProto(encodeModelProto({ ir_version: 0, graph: {} }));
    expect([hasField(m, 'ir_version'), hasField(m, 'graph'), hasField(m, 'producer_name')]).toEqual([true, true, false]);
  });

  it('names bytes that are not a ModelProto with a graph', () => {
    expect(() => readOnnxModel(encodeModelProto({ ir_version: 8 }))).toThrow('readOnnxModel: the bytes hold no ModelProto.graph (field 7)');
    expect(() => readOnnxModel(bytes('3a05 0a'))).toThrow(RangeError);
  });
});
