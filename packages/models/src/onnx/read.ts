/**
 * A small ONNX ModelProto decoder, for tests and sanity checks of exported files: it reads back
 * the graph structure (nodes, attributes, initializer names / shapes / data sizes, inputs and
 * outputs with their dims), not every field of onnx.proto.
 */

export interface ProtoField {
  field: number;
  wire: number;
  /** varint / fixed values as bigint; length-delimited payloads as bytes. */
  value: bigint | Uint8Array;
}

/** Splits one message into its fields, in order. */
export function readFields(bytes: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= bytes.length) throw new RangeError(`readFields: truncated varint at byte ${pos}`);
      const b = bytes[pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new RangeError(`readFields: varint longer than 10 bytes at byte ${pos}`);
    }
  };
  const take = (n: number): Uint8Array => {
    if (pos + n > bytes.length) throw new RangeError(`readFields: field of ${n} bytes at byte ${pos} runs past the end (${bytes.length})`);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  while (pos < bytes.length) {
    const key = varint();
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) out.push({ field, wire, value: varint() });
    else if (wire === 1) out.push({ field, wire, value: new DataView(take(8).slice().buffer).getBigUint64(0, true) });
    else if (wire === 2) out.push({ field, wire, value: take(Number(varint())) });
    else if (wire === 5) out.push({ field, wire, value: BigInt(new DataView(take(4).slice().buffer).getUint32(0, true)) });
    else throw new RangeError(`readFields: unsupported wire type ${wire} for field ${field} at byte ${pos}`);
  }
  return out;
}

const text = (v: bigint | Uint8Array): string => new TextDecoder().decode(v as Uint8Array);
const int64 = (v: bigint): number => Number(BigInt.asIntN(64, v));

/** Varints of a repeated field, packed or not. */
function varints(fields: ProtoField[], field: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wire === 0) out.push(int64(f.value as bigint));
    else for (const p of readPackedVarints(f.value as Uint8Array)) out.push(p);
  }
  return out;
}

function readPackedVarints(bytes: Uint8Array): number[] {
  // A packed run is a sequence of varints: decode it as fields of a fake message would be wrong, so walk it directly.
  const out: number[] = [];
  let v = 0n;
  let shift = 0n;
  for (const b of bytes) {
    v |= BigInt(b & 0x7f) << shift;
    if (b & 0x80) shift += 7n;
    else {
      out.push(int64(v));
      v = 0n;
      shift = 0n;
    }
  }
  return out;
}

export interface OnnxAttribute {
  name: string;
  /** AttributeProto.AttributeType: 1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 6 FLOATS, 7 INTS. */
  type: number;
  value: number | string | number[] | OnnxTensor;
}

export interface OnnxNode {
  opType: string;
  name: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Record<string, OnnxAttribute>;
}

export interface OnnxTensor {
  name: string;
  /** TensorProto.DataType: 1 FLOAT, 6 INT32, 7 INT64, 9 BOOL. */
  dataType: number;
  dims: number[];
  raw: Uint8Array;
}

export interface OnnxValueInfo {
  name: string;
  elemType: number;
  /** dim_value as a number, dim_param as a string, an unknown dim as null. */
  dims: (number | string | null)[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  valueInfo: OnnxValueInfo[];
}

export interface OnnxModel {
  irVersion: number;
  producerName: string;
  opsets: { domain: string; version: number }[];
  graph: OnnxGraph;
}

function readTensor(bytes: Uint8Array): OnnxTensor {
  const fs = readFields(bytes);
  const t: OnnxTensor = { name: '', dataType: 0, dims: varints(fs, 1), raw: new Uint8Array(0) };
  for (const f of fs) {
    if (f.field === 2) t.dataType = Number(f.value);
    else if (f.field === 8) t.name = text(f.value);
    else if (f.field === 9) t.raw = f.value as Uint8Array;
  }
  return t;
}

function readAttribute(bytes: Uint8Array): OnnxAttribute {
  const fs = readFields(bytes);
  const a: OnnxAttribute = { name: '', type: 0, value: 0 };
  for (const f of fs) {
    if (f.field === 1) a.name = text(f.value);
    else if (f.field === 20) a.type = Number(f.value);
    else if (f.field === 2) a.value = new DataView(new Uint32Array([Number(f.value)]).buffer).getFloat32(0, true);
    else if (f.field === 3) a.value = int64(f.value as bigint);
    else if (f.field === 4) a.value = text(f.value);
    else if (f.field === 5) a.value = readTensor(f.value as Uint8Array);
  }
  if (a.type === 7) a.value = varints(fs, 8);
  if (a.type === 6) {
    const floats: number[] = [];
    for (const f of fs.filter((x) => x.field === 7)) {
      const b = f.value as Uint8Array;
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      for (let i = 0; i < b.byteLength; i += 4) floats.push(view.getFloat32(i, true));
    }
    a.value = floats;
  }
  return a;
}

function readNode(bytes: Uint8Array): OnnxNode {
  const n: OnnxNode = { opType: '', name: '', domain: '', inputs: [], outputs: [], attributes: {} };
  for (const f of readFields(bytes)) {
    if (f.field === 1) n.inputs.push(text(f.value));
    else if (f.field === 2) n.outputs.push(text(f.value));
    else if (f.field === 3) n.name = text(f.value);
    else if (f.field === 4) n.opType = text(f.value);
    else if (f.field === 7) n.domain = text(f.value);
    else if (f.field === 5) {
      const a = readAttribute(f.value as Uint8Array);
      n.attributes[a.name] = a;
    }
  }
  return n;
}

function readValueInfo(bytes: Uint8Array): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '', elemType: 0, dims: [] };
  for (const f of readFields(bytes)) {
    if (f.field === 1) v.name = text(f.value);
    else if (f.field === 2) {
      // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2)
      for (const tt of readFields(f.value as Uint8Array).filter((x) => x.field === 1)) {
        for (const g of readFields(tt.value as Uint8Array)) {
          if (g.field === 1) v.elemType = Number(g.value);
          else if (g.field === 2) {
            for (const d of readFields(g.value as Uint8Array).filter((x) => x.field === 1)) {
              const dim = readFields(d.value as Uint8Array);
              const value = dim.find((x) => x.field === 1);
              const param = dim.find((x) => x.field === 2);
              v.dims.push(value ? int64(value.value as bigint) : param ? text(param.value) : null);
            }
          }
        }
      }
    }
  }
  return v;
}

/** Decodes a serialized ModelProto (the fields the exporter writes). */
export function readOnnxModel(bytes: Uint8Array): OnnxModel {
  const model: OnnxModel = { irVersion: 0, producerName: '', opsets: [], graph: { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] } };
  let sawGraph = false;
  for (const f of readFields(bytes)) {
    if (f.field === 1) model.irVersion = Number(f.value);
    else if (f.field === 2) model.producerName = text(f.value);
    else if (f.field === 8) {
      const op = { domain: '', version: 0 };
      for (const g of readFields(f.value as Uint8Array)) {
        if (g.field === 1) op.domain = text(g.value);
        else if (g.field === 2) op.version = Number(g.value);
      }
      model.opsets.push(op);
    } else if (f.field === 7) {
      sawGraph = true;
      const g = model.graph;
      for (const h of readFields(f.value as Uint8Array)) {
        const b = h.value as Uint8Array;
        if (h.field === 1) g.nodes.push(readNode(b));
        else if (h.field === 2) g.name = text(b);
        else if (h.field === 5) g.initializers.push(readTensor(b));
        else if (h.field === 11) g.inputs.push(readValueInfo(b));
        else if (h.field === 12) g.outputs.push(readValueInfo(b));
        else if (h.field === 13) g.valueInfo.push(readValueInfo(b));
      }
    }
  }
  if (!sawGraph) throw new Error('readOnnxModel: the bytes hold no ModelProto.graph (field 7)');
  return model;
}
