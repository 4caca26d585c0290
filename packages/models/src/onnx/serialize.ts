import type { Dim } from '../ops/ops';
import type { AttrValue, Graph, GraphDType, GraphValue } from '../ops/graph-ops';
import { encodeModelProto } from './model-proto';
import { AttributeProto_AttributeType, TensorProto_DataType, type AttributeProto, type ModelProto, type TensorShapeProto_Dimension, type ValueInfoProto } from './onnx-schema';

/** TensorProto.DataType values used here. */
export const OnnxDataType = { FLOAT: TensorProto_DataType.FLOAT, INT32: TensorProto_DataType.INT32, INT64: TensorProto_DataType.INT64, BOOL: TensorProto_DataType.BOOL } as const;
/** AttributeProto.AttributeType values used here. */
export const OnnxAttributeType = {
  FLOAT: AttributeProto_AttributeType.FLOAT,
  INT: AttributeProto_AttributeType.INT,
  STRING: AttributeProto_AttributeType.STRING,
  FLOATS: AttributeProto_AttributeType.FLOATS,
  INTS: AttributeProto_AttributeType.INTS,
} as const;

const INT64_MAX = (1n << 63n) - 1n;

export interface GraphToOnnxOptions {
  /** Values of the graph's 'parameter' initializers (float32, row-major), by parameter name. */
  parameters: (name: string) => Float32Array;
  /** Default-domain opset; 17 is the first with LayerNormalization. */
  opset?: number;
  producerName?: string;
  graphName?: string;
  /** ONNX names of the graph inputs, in the IR's input order (default: the IR names). */
  inputNames?: string[];
  /** ONNX names of the graph outputs, in the IR's output order (default: the IR names). */
  outputNames?: string[];
}

const DTYPE: Record<GraphDType, number> = { float32: OnnxDataType.FLOAT, int32: OnnxDataType.INT32, int64: OnnxDataType.INT64, bool: OnnxDataType.BOOL };

/** Attributes whose numbers are ONNX floats; every other numeric attribute is an int. */
const FLOAT_ATTRS = new Set(['epsilon', 'alpha', 'beta', 'gamma', 'ratio']);

interface OnnxAttr {
  name: string;
  value: number | string | number[];
  type: number;
}

interface OnnxNodeOut {
  op: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: OnnxAttr[];
}

interface OnnxInit {
  name: string;
  dataType: number;
  dims: number[];
  raw: Uint8Array;
}

interface ValueOut {
  name: string;
  dataType: number;
  shape: Dim[];
}

function int64Raw(values: readonly (number | bigint)[]): Uint8Array {
  const b = new Uint8Array(8 * values.length);
  const view = new DataView(b.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return b;
}

function float32Raw(values: ArrayLike<number>): Uint8Array {
  const b = new Uint8Array(4 * values.length);
  const view = new DataView(b.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return b;
}

function int32Raw(values: ArrayLike<number>): Uint8Array {
  const b = new Uint8Array(4 * values.length);
  const view = new DataView(b.buffer);
  for (let i = 0; i < values.length; i++) view.setInt32(4 * i, values[i], true);
  return b;
}

/** One term of a symbolic dim: sign × number × symbols ('-3', '4*seq', 'batch*seq'). */
interface Term {
  sign: 1 | -1;
  n: number;
  symbols: string[];
}

/** Parses the recorder's dim expressions: sums and differences of products ('1+seq-3', 'batch*seq'). */
export function parseDim(dim: string): Term[] {
  const terms: Term[] = [];
  const parts = dim.replace(/\s+/g, '').split(/(?=[+-])/);
  for (let part of parts) {
    let sign: 1 | -1 = 1;
    if (part.startsWith('+')) part = part.slice(1);
    else if (part.startsWith('-')) {
      sign = -1;
      part = part.slice(1);
    }
    const t: Term = { sign, n: 1, symbols: [] };
    for (const f of part.split('*')) {
      if (/^\d+$/.test(f)) t.n *= Number(f);
      else if (/^[A-Za-z_][\w.]*$/.test(f)) t.symbols.push(f);
      else throw new RangeError(`graphToOnnx: cannot resolve dim '${dim}' (factor '${f}')`);
    }
    terms.push(t);
  }
  return terms;
}

/**
 * Serializes a recorded `Graph` (see GraphOps) to an ONNX ModelProto. The IR uses ONNX op names;
 * where the ONNX form differs it is adapted here:
 * - int32 graph inputs are int64 in the model (as Hugging Face exports) and Cast to int32 at once;
 *   int64 inputs (training graphs' indices) and float32 inputs (parameters of a training graph)
 *   are taken as they are;
 * - Reshape's target (unless the IR gives it as a second, int64 input) and Slice's starts / ends /
 *   axes become int64 inputs; symbolic dims are computed at run time from the Shape of the graph
 *   input that declared the symbol;
 * - ReduceSum (opset 13+) and ReduceMean / ReduceMax / ReduceSumSquare (opset 18+) take axes as an input;
 * - nodes may have several outputs (LayerNormalization's saved mean and inverse std, Split);
 * - Gelu (opset 20) is lowered to x · 0.5 · (1 + erf(x / √2)) for older opsets;
 * - Cast's `to` becomes the TensorProto data type, booleans become ints.
 */
export function graphToOnnx(graph: Graph, options: GraphToOnnxOptions): Uint8Array {
  const { opset = 17, producerName = '@proj/models', graphName = 'graph' } = options;
  if (!Number.isInteger(opset) || opset < 17) throw new RangeError(`graphToOnnx: opset must be an integer >= 17 (LayerNormalization), got ${opset}`);
  const rename = new Map<string, string>();
  const names = (kind: 'inputNames' | 'outputNames', values: GraphValue[]) => {
    const given = options[kind];
    if (given === undefined) return;
    if (given.length !== values.length) throw new RangeError(`graphToOnnx: ${kind} has ${given.length} names for ${values.length} graph ${kind === 'inputNames' ? 'inputs' : 'outputs'} [${values.map((v) => v.name)}]`);
    values.forEach((v, i) => rename.set(v.name, given[i]));
  };
  names('inputNames', graph.inputs);
  names('outputNames', graph.outputs);
  const onnxName = (n: string) => rename.get(n) ?? n;

  const nodes: OnnxNodeOut[] = [];
  const inits: OnnxInit[] = [];
  const inputs: ValueOut[] = [];
  const used = new Set<string>();
  const unique = (base: string) => {
    let name = base;
    for (let i = 1; used.has(name); i++) name = `${base}_${i}`;
    used.add(name);
    return name;
  };
  for (const v of [...graph.inputs, ...graph.initializers, ...graph.valueInfo]) used.add(onnxName(v.name));
  for (const n of graph.nodes) used.add(n.name);
  const attr = (name: string, value: number | string | number[], type: number): OnnxAttr => ({ name, value, type });
  const emit = (op: string, name: string, ins: string[], attrs: OnnxAttr[] = []): string => {
    const out = unique(`${name}_out`);
    nodes.push({ op, name: unique(name), inputs: ins, outputs: [out], attrs });
    return out;
  };
  const int64Const = (base: string, values: (number | bigint)[]): string => {
    const name = unique(base);
    inits.push({ name, dataType: OnnxDataType.INT64, dims: [values.length], raw: int64Raw(values) });
    return name;
  };

  // 1. Graph inputs; int32 ids are int64 at the boundary.
  for (const v of graph.inputs) {
    const name = onnxName(v.name);
    if (v.dtype === 'int32') {
      inputs.push({ name, dataType: OnnxDataType.INT64, shape: v.shape });
      const cast = emit('Cast', `${name}/cast`, [name], [attr('to', OnnxDataType.INT32, OnnxAttributeType.INT)]);
      rename.set(v.name, cast);
    } else inputs.push({ name, dataType: DTYPE[v.dtype], shape: v.shape });
  }

  // 2. Symbolic dims, computed from the Shape of the input that declares them (int64 [1]).
  const symbolSource = new Map<string, { input: string; axis: number }>();
  for (const v of graph.inputs) {
    v.shape.forEach((d, axis) => {
      if (typeof d === 'string' && /^[A-Za-z_][\w.]*$/.test(d) && !symbolSource.has(d)) symbolSource.set(d, { input: inputs[graph.inputs.indexOf(v)].name, axis });
    });
  }
  const dimCache = new Map<string, string>();
  const symbolTensor = (sym: string, where: string): string => {
    const src = symbolSource.get(sym);
    if (src === undefined) throw new RangeError(`graphToOnnx: ${where} uses dim '${sym}', which no graph input declares (inputs: ${graph.inputs.map((i) => `${i.name} [${i.shape}]`).join(', ')})`);
    return emit('Shape', `dim_${sym}`, [src.input], [attr('start', src.axis, OnnxAttributeType.INT), attr('end', src.axis + 1, OnnxAttributeType.INT)]);
  };
  const dimTensor = (dim: Dim | bigint, where: string): string => {
    const key = String(dim);
    const hit = dimCache.get(key);
    if (hit !== undefined) return hit;
    let out: string;
    if (typeof dim !== 'string') out = int64Const('dim_const', [dim]);
    else {
      const terms = parseDim(dim);
      let sum: string | null = null;
      for (const t of terms) {
        let prod: string | null = t.n !== 1 || t.symbols.length === 0 ? dimTensor(t.n, where) : null;
        for (const s of t.symbols) {
          const st = dimCache.get(s) ?? symbolTensor(s, where);
          dimCache.set(s, st);
          prod = prod === null ? st : emit('Mul', `dim_mul`, [prod, st]);
        }
        if (sum === null) sum = t.sign === 1 ? prod! : emit('Neg', 'dim_neg', [prod!]);
        else sum = emit(t.sign === 1 ? 'Add' : 'Sub', t.sign === 1 ? 'dim_add' : 'dim_sub', [sum, prod!]);
      }
      out = sum!;
    }
    dimCache.set(key, out);
    return out;
  };
  /** int64 [n] tensor of dims; numbers (or -1 / INT64_MAX) are constants, symbols are computed. */
  // Runtime shapes are shared: the attention reshapes of every layer reuse one Concat.
  const shapeCache = new Map<string, string>();
  const dimsTensor = (dims: (Dim | bigint)[], base: string, where: string): string => {
    if (dims.every((d) => typeof d !== 'string')) return int64Const(base, dims as (number | bigint)[]);
    const key = dims.map(String).join(',');
    const hit = shapeCache.get(key);
    if (hit !== undefined) return hit;
    const pieces = dims.map((d) => dimTensor(d, where));
    const out = emit('Concat', base, pieces, [attr('axis', 0, OnnxAttributeType.INT)]);
    shapeCache.set(key, out);
    return out;
  };

  // 3. Initializers: parameters (values from the caller) and inline constants.
  for (const init of graph.initializers) {
    const count = init.shape.reduce((a, b) => a * b, 1);
    let raw: Uint8Array;
    if (init.kind === 'parameter') {
      const values = options.parameters(init.name);
      if (values === undefined || values.length !== count) {
        throw new RangeError(`graphToOnnx: parameter '${init.name}' [${init.shape}] needs ${count} values, got ${values?.length}`);
      }
      raw = float32Raw(values);
    } else {
      const values = init.values;
      if (values === undefined || values.length !== count) throw new RangeError(`graphToOnnx: constant '${init.name}' [${init.shape}] needs ${count} values, got ${values?.length}`);
      if (values instanceof BigInt64Array) {
        if (init.dtype !== 'int64') throw new TypeError(`graphToOnnx: constant '${init.name}' is ${init.dtype} but holds int64 values`);
        raw = int64Raw(Array.from(values));
      } else raw = init.dtype === 'float32' ? float32Raw(values) : init.dtype === 'int32' ? int32Raw(values) : init.dtype === 'int64' ? int64Raw(Array.from(values)) : Uint8Array.from(values, (v) => (v ? 1 : 0));
    }
    inits.push({ name: onnxName(init.name), dataType: DTYPE[init.dtype], dims: init.shape, raw });
  }

  // 4. Nodes, adapted where the ONNX signature differs from the IR.
  const convertAttrs = (op: string, attrs: Record<string, AttrValue>, skip: string[] = []): OnnxAttr[] =>
    Object.entries(attrs)
      .filter(([k]) => !skip.includes(k))
      .map(([k, v]) => {
        if (typeof v === 'boolean') return attr(k, v ? 1 : 0, OnnxAttributeType.INT);
        if (typeof v === 'string') return attr(k, v, OnnxAttributeType.STRING);
        if (typeof v === 'number') {
          if (FLOAT_ATTRS.has(k)) return attr(k, v, OnnxAttributeType.FLOAT);
          if (!Number.isInteger(v)) throw new TypeError(`graphToOnnx: ${op} attribute '${k}' must be an integer, got ${v}`);
          return attr(k, v, OnnxAttributeType.INT);
        }
        if (v.some((x) => typeof x !== 'number' || !Number.isInteger(x))) throw new TypeError(`graphToOnnx: ${op} attribute '${k}' must be a list of integers, got [${v}]`);
        return attr(k, v as number[], OnnxAttributeType.INTS);
      });
  for (const n of graph.nodes) {
    const ins = n.inputs.map(onnxName);
    const outs = n.outputs.map(onnxName);
    const where = `${n.op} node '${n.name}'`;
    const push = (op: string, inputs: string[], attrs: OnnxAttr[]) => {
      nodes.push({ op, name: n.name, inputs, outputs: outs, attrs });
    };
    switch (n.op) {
      case 'Cast': {
        const to = n.attrs.to as GraphDType;
        if (!(to in DTYPE)) throw new TypeError(`graphToOnnx: ${where} casts to unknown dtype '${String(to)}'`);
        push('Cast', ins, [attr('to', DTYPE[to], OnnxAttributeType.INT)]);
        break;
      }
      case 'Reshape':
        push('Reshape', ins.length === 2 ? ins : [ins[0], dimsTensor(n.attrs.shape as Dim[], `${n.name}/shape`, where)], []);
        break;
      case 'Slice': {
        const begin = n.attrs.begin as number[];
        const size = n.attrs.size as Dim[];
        const ends = size.map((s, i): Dim | bigint => (s === -1 ? INT64_MAX : typeof s === 'number' ? begin[i] + s : begin[i] === 0 ? s : `${s}+${begin[i]}`));
        push('Slice', [ins[0], int64Const(`${n.name}/starts`, begin), dimsTensor(ends, `${n.name}/ends`, where), int64Const(`${n.name}/axes`, begin.map((_, i) => i))], []);
        break;
      }
      case 'ReduceSum':
      case 'ReduceMean':
      case 'ReduceMax':
      case 'ReduceSumSquare': {
        // Axes computed at run time (the autodiff's un-broadcasting) come as a second input already.
        if (ins.length === 2) {
          push(n.op, ins, convertAttrs(n.op, n.attrs));
          break;
        }
        const axesAsInput = n.op === 'ReduceSum' || opset >= 18;
        const keep = attr('keepdims', n.attrs.keepdims ? 1 : 0, OnnxAttributeType.INT);
        if (axesAsInput) push(n.op, [ins[0], int64Const(`${n.name}/axes`, n.attrs.axes as number[])], [keep]);
        else push(n.op, ins, [attr('axes', n.attrs.axes as number[], OnnxAttributeType.INTS), keep]);
        break;
      }
      case 'Gelu': {
        if (opset >= 20) {
          push('Gelu', ins, convertAttrs(n.op, n.attrs));
          break;
        }
        if (n.attrs.approximate !== 'none') throw new RangeError(`graphToOnnx: ${where} approximate='${String(n.attrs.approximate)}' cannot be lowered (only 'none')`);
        const c = (v: number) => {
          const name = unique(`${n.name}/c`);
          inits.push({ name, dataType: OnnxDataType.FLOAT, dims: [], raw: float32Raw([v]) });
          return name;
        };
        const erf = emit('Erf', `${n.name}/erf`, [emit('Div', `${n.name}/div`, [ins[0], c(Math.SQRT2)])]);
        const half = emit('Mul', `${n.name}/half`, [ins[0], emit('Add', `${n.name}/add`, [erf, c(1)])]);
        push('Mul', [half, c(0.5)], []);
        break;
      }
      default:
        push(n.op, ins, convertAttrs(n.op, n.attrs));
    }
  }

  // 5. Outputs and value_info (every recorded intermediate with its dtype and shape).
  const outputNames = new Set(graph.outputs.map((o) => o.name));
  const outputs: ValueOut[] = graph.outputs.map((o) => ({ name: onnxName(o.name), dataType: DTYPE[o.dtype], shape: o.shape }));
  const valueInfo: ValueOut[] = graph.valueInfo.filter((v) => !outputNames.has(v.name)).map((v) => ({ name: onnxName(v.name), dataType: DTYPE[v.dtype], shape: v.shape }));

  return writeModel({ opset, producerName, graphName, nodes, inits, inputs, outputs, valueInfo });
}

/** A number for an int64 field; protobufjs would silently truncate a fraction or round past 2^53. */
function int64(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`graphToOnnx: ${what} must be a safe integer, got ${value}`);
  return value;
}

function valueInfoProto(v: ValueOut): ValueInfoProto {
  // A scalar still gets an (empty) shape: no shape would mean unknown rank. '?' is a Dimension with neither field.
  const dim = v.shape.map((d): TensorShapeProto_Dimension => (typeof d === 'number' ? { dim_value: int64(d, `dim of '${v.name}'`) } : d === '?' ? {} : { dim_param: d }));
  return { name: v.name, type: { tensor_type: { elem_type: v.dataType, shape: { dim } } } };
}

function attributeProto(a: OnnxAttr): AttributeProto {
  const p: AttributeProto = { name: a.name, type: a.type };
  if (a.type === OnnxAttributeType.FLOAT) p.f = a.value as number;
  else if (a.type === OnnxAttributeType.INT) p.i = int64(a.value as number, `attribute '${a.name}'`);
  else if (a.type === OnnxAttributeType.STRING) p.s = new TextEncoder().encode(a.value as string);
  else if (a.type === OnnxAttributeType.FLOATS) p.floats = a.value as number[];
  else p.ints = (a.value as number[]).map((x) => int64(x, `attribute '${a.name}'`));
  return p;
}

function writeModel(m: { opset: number; producerName: string; graphName: string; nodes: OnnxNodeOut[]; inits: OnnxInit[]; inputs: ValueOut[]; outputs: ValueOut[]; valueInfo: ValueOut[] }): Uint8Array {
  const model: ModelProto = {
    // IR 8 goes with opsets up to 18, 9 with 19-20, 10 after.
    ir_version: m.opset <= 18 ? 8 : m.opset <= 20 ? 9 : 10,
    producer_name: m.producerName,
    graph: {
      node: m.nodes.map((n) => ({ input: n.inputs, output: n.outputs, name: n.name, op_type: n.op, attribute: n.attrs.map(attributeProto) })),
      name: m.graphName,
      // Tensors as little-endian raw_data.
      initializer: m.inits.map((t) => ({ dims: t.dims.map((d) => int64(d, `dim of initializer '${t.name}'`)), data_type: t.dataType, name: t.name, raw_data: t.raw })),
      input: m.inputs.map(valueInfoProto),
      output: m.outputs.map(valueInfoProto),
      value_info: m.valueInfo.map(valueInfoProto),
    },
    // The default domain ('') is left unset.
    opset_import: [{ version: m.opset }],
  };
  return encodeModelProto(model);
}
