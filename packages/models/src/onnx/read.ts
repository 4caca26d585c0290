/**
 * Reads an ONNX ModelProto back into plain objects, for tests and sanity checks of exported files:
 * the graph structure (nodes, attributes, initializer names / shapes / raw data, inputs and outputs
 * with their dims), not every field of onnx.proto. Decoding is protobufjs on the official schema.
 */
import { decodeModelProto, hasField, int64ToNumber } from './model-proto';
import { AttributeProto_AttributeType, type AttributeProto, type Int64, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx-schema';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);
/** A plain Uint8Array view (protobufjs hands out Buffers when it decodes a Buffer). */
const view = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const num = (v: Int64, what: string): number => int64ToNumber(v, `readOnnxModel: ${what}`);

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

function readTensor(t: TensorProto): OnnxTensor {
  const name = t.name ?? '';
  return { name, dataType: t.data_type ?? 0, dims: (t.dims ?? []).map((d) => num(d, `dims of tensor '${name}'`)), raw: view(t.raw_data ?? new Uint8Array(0)) };
}

function readAttribute(p: AttributeProto): OnnxAttribute {
  const a: OnnxAttribute = { name: p.name ?? '', type: p.type ?? 0, value: 0 };
  const what = `attribute '${a.name}'`;
  if (hasField(p, 'f')) a.value = p.f!;
  else if (hasField(p, 'i')) a.value = num(p.i!, what);
  else if (hasField(p, 's')) a.value = text(p.s!);
  else if (hasField(p, 't')) a.value = readTensor(p.t!);
  if (a.type === AttributeProto_AttributeType.INTS) a.value = (p.ints ?? []).map((x) => num(x, what));
  if (a.type === AttributeProto_AttributeType.FLOATS) a.value = [...(p.floats ?? [])];
  return a;
}

function readNode(p: NodeProto): OnnxNode {
  const n: OnnxNode = { opType: p.op_type ?? '', name: p.name ?? '', domain: p.domain ?? '', inputs: [...(p.input ?? [])], outputs: [...(p.output ?? [])], attributes: {} };
  for (const a of p.attribute ?? []) {
    const attr = readAttribute(a);
    n.attributes[attr.name] = attr;
  }
  return n;
}

function readValueInfo(p: ValueInfoProto): OnnxValueInfo {
  const name = p.name ?? '';
  const tensor = p.type?.tensor_type;
  const dims = (tensor?.shape?.dim ?? []).map((d) => (hasField(d, 'dim_value') ? num(d.dim_value!, `dim of '${name}'`) : hasField(d, 'dim_param') ? d.dim_param! : null));
  return { name, elemType: tensor?.elem_type ?? 0, dims };
}

/** Decodes a serialized ModelProto (the fields the exporter writes). */
export function readOnnxModel(bytes: Uint8Array): OnnxModel {
  const m = decodeModelProto(bytes);
  if (!hasField(m, 'graph')) throw new Error('readOnnxModel: the bytes hold no ModelProto.graph (field 7)');
  const g = m.graph!;
  return {
    irVersion: num(m.ir_version ?? 0, 'ir_version'),
    producerName: m.producer_name ?? '',
    opsets: (m.opset_import ?? []).map((o) => ({ domain: o.domain ?? '', version: num(o.version ?? 0, 'opset version') })),
    graph: {
      name: g.name ?? '',
      nodes: (g.node ?? []).map(readNode),
      initializers: (g.initializer ?? []).map(readTensor),
      inputs: (g.input ?? []).map(readValueInfo),
      outputs: (g.output ?? []).map(readValueInfo),
      valueInfo: (g.value_info ?? []).map(readValueInfo),
    },
  };
}
