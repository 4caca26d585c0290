/**
 * Dynamic int8 quantization of an ONNX model's weight MatMuls, with standard ONNX ops only (opset
 * 10+): every `MatMul(A, W)` whose W is a constant (a float initializer, or a Transpose of one, as
 * the exported models store PyTorch's [out, in] weights) becomes
 *
 *   DynamicQuantizeLinear(A) -> (A_u8, a_scale, a_zero) ; MatMulInteger(A_u8, W_i8, a_zero) -> int32
 *   Cast(float) ; Mul(a_scale * w_scale[n])
 *
 * with W quantized once here, symmetric int8 per output column (w_scale[n] = max_k |W[k, n]| / 127).
 * That is the pattern onnxruntime's CPU optimizer fuses into one int8 GEMM (DynamicQuantizeMatMul),
 * and what its own `quantize_dynamic` writes; it is written here because that tool is Python-only
 * and the exports are made in Node.
 *
 * What it costs: weights lose precision (half a step of their column's scale), and A's scale is
 * one per tensor, over every row of a call: a row's outputs can change with the rows it shares a
 * call with. So it is an opt-in for serving, never what parity tests or training read.
 */
import { decodeModelProto, encodeModelProto, int64ToNumber } from './model-proto';
import { AttributeProto_AttributeType, TensorProto_DataType, type ModelProto, type NodeProto, type TensorProto } from './onnx-schema';

export interface QuantizeReport {
  /** MatMuls now run in int8. */
  quantized: number;
  /** MatMuls left in float: both operands computed (attention scores), or a weight below `minElements`. */
  keptFloat: number;
  /** Weight elements quantized. */
  elements: number;
  bytesBefore: number;
  bytesAfter: number;
}

export interface QuantizeOptions {
  /** Weights with fewer elements stay float (their MatMuls are too small to gain). Default 4,096. */
  minElements?: number;
}

/** A float initializer's values, row-major (raw_data little-endian, or float_data). */
function floatValues(t: TensorProto): Float32Array {
  if (t.raw_data && t.raw_data.byteLength > 0) {
    const copy = new Uint8Array(t.raw_data); // aligned copy: raw_data may sit at any offset of the decoded buffer
    return new Float32Array(copy.buffer, 0, copy.byteLength / 4);
  }
  return Float32Array.from(t.float_data ?? []);
}

const dimsOf = (t: TensorProto) => (t.dims ?? []).map((d) => int64ToNumber(d, `dim of initializer '${t.name}'`));

/**
 * Symmetric per-column int8 of a [K, N] matrix given row-major (`transposed`: given as its [N, K]
 * transpose): the int8 matrix [K, N] and the N column scales. An all-zero column gets scale 1.
 */
export function quantizeColumnsInt8(values: Float32Array, k: number, n: number, transposed = false): { q: Int8Array; scales: Float32Array } {
  const at = transposed ? (r: number, c: number) => values[c * k + r] : (r: number, c: number) => values[r * n + c];
  const scales = new Float32Array(n);
  for (let c = 0; c < n; c++) {
    let max = 0;
    for (let r = 0; r < k; r++) max = Math.max(max, Math.abs(at(r, c)));
    scales[c] = max > 0 ? max / 127 : 1;
  }
  const q = new Int8Array(k * n);
  for (let r = 0; r < k; r++) for (let c = 0; c < n; c++) q[r * n + c] = Math.max(-127, Math.min(127, Math.round(at(r, c) / scales[c])));
  return { q, scales };
}

/** One line for logs: `int8: 24 weight MatMuls quantized, 8 left float, 89.8 -> 67.7 MB`. */
export function describeQuantizeReport(report: QuantizeReport): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  return `int8: ${report.quantized} weight MatMuls quantized, ${report.keptFloat} left float, ${mb(report.bytesBefore)} -> ${mb(report.bytesAfter)} MB`;
}

const bytesOf = (a: Int8Array | Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Returns the model with its constant-weight MatMuls in int8 (see the file comment), and what changed. */
export function quantizeMatMulsInt8(bytes: Uint8Array, options: QuantizeOptions = {}): { bytes: Uint8Array; report: QuantizeReport } {
  const minElements = options.minElements ?? 4096;
  const model: ModelProto = decodeModelProto(bytes);
  const graph = model.graph;
  if (!graph) throw new Error('quantizeMatMulsInt8: the model has no graph');
  const opset = (model.opset_import ?? []).find((o) => (o.domain ?? '') === '');
  if (opset && int64ToNumber(opset.version ?? 0, 'opset version') < 10) throw new Error('quantizeMatMulsInt8: needs opset 10 or later (MatMulInteger)');
  const nodes = graph.node ?? [];
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  const producer = new Map<string, NodeProto>();
  for (const node of nodes) for (const o of node.output ?? []) producer.set(o, node);
  const names = new Set<string>([...inits.keys(), ...(graph.input ?? []).map((i) => i.name ?? ''), ...nodes.flatMap((nd) => nd.output ?? [])]);
  const fresh = (base: string) => {
    let name = base;
    for (let i = 1; names.has(name); i++) name = `${base}_${i}`;
    names.add(name);
    return name;
  };

  /** The constant [K, N] weight behind a MatMul's B input, if it is one (its values are read only when it is quantized). */
  const constantWeight = (b: string): { tensor: TensorProto; k: number; n: number; transposed: boolean; key: string } | null => {
    const direct = inits.get(b);
    if (direct) {
      const d = dimsOf(direct);
      return direct.data_type === TensorProto_DataType.FLOAT && d.length === 2 ? { tensor: direct, k: d[0], n: d[1], transposed: false, key: b } : null;
    }
    const t = producer.get(b);
    if (t?.op_type !== 'Transpose' || (t.domain ?? '') !== '') return null;
    const src = inits.get(t.input?.[0] ?? '');
    if (!src || src.data_type !== TensorProto_DataType.FLOAT) return null;
    const d = dimsOf(src);
    const perm = t.attribute?.find((a) => a.name === 'perm')?.ints?.map((p) => int64ToNumber(p, 'perm'));
    if (d.length !== 2 || (perm && !(perm[0] === 1 && perm[1] === 0))) return null;
    return { tensor: src, k: d[1], n: d[0], transposed: true, key: `T(${src.name})` };
  };

  const report: QuantizeReport = { quantized: 0, keptFloat: 0, elements: 0, bytesBefore: bytes.byteLength, bytesAfter: 0 };
  const newInits: TensorProto[] = [];
  const quantizedWeights = new Map<string, { q: string; scale: string }>();
  const quantizedInputs = new Map<string, { x: string; scale: string; zero: string }>();
  const out: NodeProto[] = [];
  for (const node of nodes) {
    const w = node.op_type === 'MatMul' && (node.domain ?? '') === '' ? constantWeight(node.input?.[1] ?? '') : null;
    if (!w || w.k * w.n < minElements) {
      if (node.op_type === 'MatMul') report.keptFloat++;
      out.push(node);
      continue;
    }
    const a = node.input![0];
    const y = node.output![0];
    let weight = quantizedWeights.get(w.key);
    if (!weight) {
      const { q, scales } = quantizeColumnsInt8(floatValues(w.tensor), w.k, w.n, w.transposed);
      weight = { q: fresh(`${w.key}_int8`), scale: fresh(`${w.key}_scale`) };
      newInits.push({ name: weight.q, data_type: TensorProto_DataType.INT8, dims: [w.k, w.n], raw_data: bytesOf(q) });
      newInits.push({ name: weight.scale, data_type: TensorProto_DataType.FLOAT, dims: [w.n], raw_data: bytesOf(scales) });
      quantizedWeights.set(w.key, weight);
      report.elements += w.k * w.n;
    }
    let input = quantizedInputs.get(a);
    if (!input) {
      // Q, K and V read the same normalized input: quantize it once.
      input = { x: fresh(`${a}_u8`), scale: fresh(`${a}_scale`), zero: fresh(`${a}_zero`) };
      out.push({ op_type: 'DynamicQuantizeLinear', name: fresh(`${node.name || y}_quant`), input: [a], output: [input.x, input.scale, input.zero] });
      quantizedInputs.set(a, input);
    }
    const acc = fresh(`${y}_int32`);
    const accFloat = fresh(`${y}_int32_float`);
    const scale = fresh(`${y}_scale`);
    const base = node.name || y;
    out.push(
      { op_type: 'MatMulInteger', name: fresh(`${base}_int8`), input: [input.x, weight.q, input.zero], output: [acc] },
      { op_type: 'Cast', name: fresh(`${base}_cast`), input: [acc], output: [accFloat], attribute: [{ name: 'to', type: AttributeProto_AttributeType.INT, i: TensorProto_DataType.FLOAT }] },
      { op_type: 'Mul', name: fresh(`${base}_scales`), input: [input.scale, weight.scale], output: [scale] },
      { op_type: 'Mul', name: fresh(`${base}_dequant`), input: [accFloat, scale], output: [y] },
    );
    report.quantized++;
  }

  // Drop what no node reads any more (the Transposes of quantized weights, float weights no Gather
  // shares). A node's reads include those of its subgraphs (If / Loop bodies read outer names).
  const readsOf = (nd: NodeProto): string[] => [...(nd.input ?? []), ...(nd.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]).flatMap((g) => (g.node ?? []).flatMap(readsOf))];
  const used = new Set<string>();
  let kept = out;
  for (let changed = true; changed; ) {
    used.clear();
    for (const o of graph.output ?? []) used.add(o.name ?? '');
    for (const nd of kept) for (const i of readsOf(nd)) used.add(i);
    const next = kept.filter((nd) => (nd.output ?? []).some((o) => used.has(o)) || (nd.output ?? []).length === 0);
    changed = next.length !== kept.length;
    kept = next;
  }
  const produced = new Set(kept.flatMap((nd) => nd.output ?? []));
  const dropped = new Set((graph.initializer ?? []).map((t) => t.name ?? '').filter((name) => !used.has(name)));
  graph.node = kept;
  graph.initializer = [...(graph.initializer ?? []).filter((t) => !dropped.has(t.name ?? '')), ...newInits];
  // Models from before IR 4 also list initializers as graph inputs: a dropped one must not stay a required input.
  graph.input = (graph.input ?? []).filter((i) => !dropped.has(i.name ?? ''));
  graph.value_info = (graph.value_info ?? []).filter((v) => produced.has(v.name ?? ''));
  const result = encodeModelProto(model);
  report.bytesAfter = result.byteLength;
  return { bytes: result, report };
}
