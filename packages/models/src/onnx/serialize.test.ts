import { describe, expect, it } from 'vitest';
import { GraphOps, parametersAsInputs, type Graph, type GraphValue } from '../ops/graph-ops';
import { readOnnxModel, type OnnxModel, type OnnxNode } from './read';
import { graphToOnnx, OnnxAttributeType, OnnxDataType, parseDim, type GraphToOnnxOptions } from './serialize';

const INT64_MAX = (1n << 63n) - 1n;

/** Parameter shapes for the recorder and deterministic values for the serializer. */
const PARAMS = new Map<string, number[]>([
  ['w', [4, 3]],
  ['gamma', [3]],
  ['beta', [3]],
]);
const shapes = { has: (n: string) => PARAMS.has(n), shape: (n: string) => PARAMS.get(n)! };
const values = (n: string) => Float32Array.from({ length: PARAMS.get(n)!.reduce((a, b) => a * b, 1) }, (_, i) => i / 4 - 1);

/** Records `body` on ids [batch, seq] and x [batch, seq, 4], serializes, and reads the bytes back. */
function exportOf(body: (g: GraphOps, x: GraphValue, ids: GraphValue) => GraphValue, options: Partial<GraphToOnnxOptions> = {}): OnnxModel {
  const g = new GraphOps(shapes);
  const ids = g.input('ids', 'int32', ['batch', 'seq']);
  const x = g.input('x', 'float32', ['batch', 'seq', 4]);
  g.output(body(g, x, ids), 'y');
  return readOnnxModel(graphToOnnx(g.toGraph(), { parameters: values, ...options }));
}

const nodesOf = (m: OnnxModel, op: string) => m.graph.nodes.filter((n) => n.opType === op);
const int64s = (m: OnnxModel, name: string) => {
  const t = m.graph.initializers.find((i) => i.name === name);
  if (t === undefined) return undefined;
  expect(t.dataType).toBe(OnnxDataType.INT64);
  const view = new DataView(t.raw.buffer, t.raw.byteOffset, t.raw.byteLength);
  return Array.from({ length: t.raw.byteLength / 8 }, (_, i) => view.getBigInt64(8 * i, true));
};
/** The node producing `name`, if any. */
const producer = (m: OnnxModel, name: string): OnnxNode | undefined => m.graph.nodes.find((n) => n.outputs.includes(name));

describe('graphToOnnx: model, inputs, outputs, initializers', () => {
  const m = exportOf((g, x) => g.layerNorm(g.matMul(x, g.param('w')), g.param('gamma'), g.param('beta'), 1e-12));

  it('writes ir_version 8, the producer and the default-domain opset 17', () => {
    expect(m.irVersion).toBe(8);
    expect(m.producerName).toBe('@proj/models');
    expect(m.opsets).toEqual([{ domain: '', version: 17 }]);
    expect(m.graph.name).toBe('graph');
  });

  it('int32 inputs become int64 and are Cast to int32 first; symbolic dims are dim_param, numbers dim_value', () => {
    expect(m.graph.inputs).toEqual([
      { name: 'ids', elemType: OnnxDataType.INT64, dims: ['batch', 'seq'] },
      { name: 'x', elemType: OnnxDataType.FLOAT, dims: ['batch', 'seq', 4] },
    ]);
    const cast = m.graph.nodes[0];
    expect([cast.opType, cast.inputs, cast.attributes.to]).toEqual(['Cast', ['ids'], { name: 'to', type: OnnxAttributeType.INT, value: OnnxDataType.INT32 }]);
    expect(m.graph.outputs).toEqual([{ name: 'y', elemType: OnnxDataType.FLOAT, dims: ['batch', 'seq', 3] }]);
  });

  it('parameters are float32 little-endian raw_data with their shapes', () => {
    const w = m.graph.initializers.find((i) => i.name === 'w')!;
    expect([w.dataType, w.dims, w.raw.byteLength]).toEqual([OnnxDataType.FLOAT, [4, 3], 48]);
    const view = new DataView(w.raw.buffer, w.raw.byteOffset, w.raw.byteLength);
    expect(Array.from({ length: 12 }, (_, i) => view.getFloat32(4 * i, true))).toEqual(Array.from(values('w')));
  });

  it('LayerNormalization keeps axis (INT) and epsilon (FLOAT); intermediates carry value_info', () => {
    const [ln] = nodesOf(m, 'LayerNormalization');
    expect(ln.inputs.slice(1)).toEqual(['gamma', 'beta']);
    expect(ln.attributes.axis).toEqual({ name: 'axis', type: OnnxAttributeType.INT, value: -1 });
    expect(ln.attributes.epsilon.type).toBe(OnnxAttributeType.FLOAT);
    expect(ln.attributes.epsilon.value as number).toBeCloseTo(1e-12, 20);
    const mm = nodesOf(m, 'MatMul')[0].outputs[0];
    expect(m.graph.valueInfo.find((v) => v.name === mm)).toEqual({ name: mm, elemType: OnnxDataType.FLOAT, dims: ['batch', 'seq', 3] });
  });

  it('every node input is a graph input, an initializer or an earlier output', () => {
    const defined = new Set([...m.graph.inputs.map((i) => i.name), ...m.graph.initializers.map((i) => i.name)]);
    for (const n of m.graph.nodes) {
      for (const i of n.inputs) expect(defined.has(i), `${n.name} input ${i}`).toBe(true);
      n.outputs.forEach((o) => defined.add(o));
    }
    expect(defined.has('y')).toBe(true);
  });
});

describe('graphToOnnx: ops whose ONNX form differs from the IR', () => {
  it('Reshape with a static target takes it as an int64 initializer input', () => {
    const m = exportOf((g, x) => g.reshape(g.slice(x, [0, 0, 0], [2, 3, 4]), [6, -1]));
    const [r] = nodesOf(m, 'Reshape');
    expect(r.attributes).toEqual({});
    expect(int64s(m, r.inputs[1])).toEqual([6n, -1n]);
  });

  it('Reshape with symbolic dims computes its target at run time from Shape(input)[axis]', () => {
    const m = exportOf((g, x) => g.reshape(g.reshape(x, [-1, 2]), ['batch', 'seq', 2, 2]));
    const [flat, split] = nodesOf(m, 'Reshape');
    expect(int64s(m, flat.inputs[1])).toEqual([-1n, 2n]);
    const concat = producer(m, split.inputs[1])!;
    expect(concat.opType).toBe('Concat');
    // 'batch' and 'seq' come from the first input that declares them (ids, read as int64 before its Cast).
    const [b, s, c2] = concat.inputs.map((i) => producer(m, i));
    expect([b!.opType, b!.inputs, b!.attributes.start.value, b!.attributes.end.value]).toEqual(['Shape', ['ids'], 0, 1]);
    expect([s!.opType, s!.attributes.start.value, s!.attributes.end.value]).toEqual(['Shape', 1, 2]);
    expect(c2).toBeUndefined();
    expect(int64s(m, concat.inputs[2])).toEqual([2n]);
  });

  it('product dims (batch*seq) multiply the runtime dims; the same target is computed once', () => {
    const m = exportOf((g, x) => g.add(g.reshape(x, ['batch*seq', 4]), g.reshape(x, ['batch*seq', 4])));
    const [r1, r2] = nodesOf(m, 'Reshape');
    expect(r1.inputs[1]).toBe(r2.inputs[1]);
    const first = producer(m, producer(m, r1.inputs[1])!.inputs[0])!;
    expect(first.opType).toBe('Mul');
    expect(first.inputs.map((i) => producer(m, i)!.opType)).toEqual(['Shape', 'Shape']);
  });

  it.each([
    ['static size', [0, 1, 0], [-1, 2, 3], [0n, 1n, 0n], [INT64_MAX, 3n, 3n]],
    ['size -1 runs to the end', [0, 2, 1], [-1, -1, -1], [0n, 2n, 1n], [INT64_MAX, INT64_MAX, INT64_MAX]],
  ] as const)('Slice (%s) becomes Slice(data, starts, ends, axes) with int64 inputs', (_n, begin, size, starts, ends) => {
    const m = exportOf((g, x) => g.slice(x, [...begin], [...size]));
    const [s] = nodesOf(m, 'Slice');
    expect(s.inputs.length).toBe(4);
    expect(s.attributes).toEqual({});
    expect(int64s(m, s.inputs[1])).toEqual(starts);
    expect(int64s(m, s.inputs[2])).toEqual(ends);
    expect(int64s(m, s.inputs[3])).toEqual([0n, 1n, 2n]);
  });

  it('Slice with a symbolic size has runtime ends (seq + begin)', () => {
    const m = exportOf((g, x) => g.slice(x, [0, 1, 0], [-1, 'seq', -1]));
    const [s] = nodesOf(m, 'Slice');
    const ends = producer(m, s.inputs[2])!;
    expect(ends.opType).toBe('Concat');
    const add = producer(m, ends.inputs[1])!;
    expect(add.opType).toBe('Add');
    expect(producer(m, add.inputs[0])!.opType).toBe('Shape');
    expect(int64s(m, add.inputs[1])).toEqual([1n]);
    expect(int64s(m, ends.inputs[0])).toEqual([INT64_MAX]);
  });

  it('ReduceSum takes axes as an input (opset 13+); ReduceMean / ReduceMax as attributes at 17, inputs at 18', () => {
    const body = (g: GraphOps, x: GraphValue) => g.add(g.add(g.sum(x, [-1], true), g.mean(x, [2], true)), g.max(x, [2], true));
    const m17 = exportOf(body);
    const [sum] = nodesOf(m17, 'ReduceSum');
    expect(int64s(m17, sum.inputs[1])).toEqual([2n]);
    expect(sum.attributes).toEqual({ keepdims: { name: 'keepdims', type: OnnxAttributeType.INT, value: 1 } });
    for (const op of ['ReduceMean', 'ReduceMax']) {
      const [n] = nodesOf(m17, op);
      expect(n.inputs.length).toBe(1);
      expect(n.attributes.axes).toEqual({ name: 'axes', type: OnnxAttributeType.INTS, value: [2] });
    }
    const m18 = exportOf(body, { opset: 18 });
    for (const op of ['ReduceSum', 'ReduceMean', 'ReduceMax']) {
      const [n] = nodesOf(m18, op);
      expect(int64s(m18, n.inputs[1])).toEqual([2n]);
      expect(Object.keys(n.attributes)).toEqual(['keepdims']);
    }
  });

  it('Gelu is lowered to x * (1 + erf(x / sqrt 2)) * 0.5 before opset 20, kept with approximate="none" at 20', () => {
    const m = exportOf((g, x) => g.gelu(x));
    expect(nodesOf(m, 'Gelu')).toEqual([]);
    const out = producer(m, producer(m, 'y')!.inputs[0])!;
    expect(out.opType).toBe('Mul');
    const scalar = (name: string) => {
      const t = m.graph.initializers.find((i) => i.name === name)!;
      return new DataView(t.raw.buffer, t.raw.byteOffset).getFloat32(0, true);
    };
    expect(scalar(out.inputs[1])).toBe(0.5);
    const half = producer(m, out.inputs[0])!;
    expect([half.opType, half.inputs[0]]).toEqual(['Mul', 'x']);
    const add = producer(m, half.inputs[1])!;
    const erf = producer(m, add.inputs[0])!;
    const div = producer(m, erf.inputs[0])!;
    expect([add.opType, erf.opType, div.opType, div.inputs[0]]).toEqual(['Add', 'Erf', 'Div', 'x']);
    expect(scalar(add.inputs[1])).toBe(1);
    expect(scalar(div.inputs[1])).toBeCloseTo(Math.SQRT2, 6);
    const m20 = exportOf((g, x) => g.gelu(x), { opset: 20 });
    expect(m20.irVersion).toBe(9);
    expect(nodesOf(m20, 'Gelu')[0].attributes.approximate).toEqual({ name: 'approximate', type: OnnxAttributeType.STRING, value: 'none' });
  });

  it('Cast maps dtypes to TensorProto types; bool constants are 1-byte raw_data; int32 constants raw int32', () => {
    const m = exportOf((g, x, ids) => g.where(g.equal(ids, g.constant([2], [1], 'int32')), g.cast(ids, 'float32'), g.sum(x, [2])));
    const casts = nodesOf(m, 'Cast').map((c) => c.attributes.to.value);
    expect(casts).toEqual([OnnxDataType.INT32, OnnxDataType.FLOAT]);
    const c = m.graph.initializers.find((i) => i.name === nodesOf(m, 'Equal')[0].inputs[1])!;
    expect([c.dataType, c.dims, Array.from(c.raw)]).toEqual([OnnxDataType.INT32, [1], [2, 0, 0, 0]]);
    const eq = nodesOf(m, 'Equal')[0].outputs[0];
    expect(m.graph.valueInfo.find((v) => v.name === eq)!.elemType).toBe(OnnxDataType.BOOL);
  });

  it('Transpose perm, Concat axis and Softmax axis stay attributes', () => {
    const m = exportOf((g, x) => g.softmax(g.concat([g.transpose(x, [1, 0, 2]), g.transpose(x, [1, 0, 2])], 2)));
    expect(nodesOf(m, 'Transpose')[0].attributes.perm).toEqual({ name: 'perm', type: OnnxAttributeType.INTS, value: [1, 0, 2] });
    expect(nodesOf(m, 'Concat').find((n) => n.inputs.length === 2 && n.attributes.axis.value === 2)).toBeDefined();
    expect(nodesOf(m, 'Softmax')[0].attributes.axis.value).toBe(-1);
  });

  it('renames inputs and outputs and names the graph', () => {
    const m = exportOf((g, x) => g.relu(x), { inputNames: ['input_ids', 'hidden'], outputNames: ['out'], graphName: 'g1', producerName: 'me' });
    expect(m.graph.inputs.map((i) => i.name)).toEqual(['input_ids', 'hidden']);
    expect(m.graph.outputs.map((o) => o.name)).toEqual(['out']);
    expect(producer(m, 'out')!.opType).toBe('Identity');
    expect(nodesOf(m, 'Relu')[0].inputs).toEqual(['hidden']);
    expect([m.graph.name, m.producerName]).toEqual(['g1', 'me']);
  });
});

describe('graphToOnnx: the training IR (int64, several outputs, parameters as inputs)', () => {
  it('int64 inputs stay int64 (no Cast); int64 constants are raw little-endian int64', () => {
    const g = new GraphOps(shapes);
    const idx = g.input('idx', 'int64', ['n', 1]);
    const x = g.input('x', 'float32', [5, 3]);
    const zeros = g.zerosLike(x);
    g.output(g.gatherElements(g.scatterNDAdd(zeros, idx, g.input('u', 'float32', ['n', 3])), g.int64Constant([2, 0, 1, 4, 3, 3], [2, 3]), 0), 'y');
    const m = readOnnxModel(graphToOnnx(g.toGraph(), { parameters: values }));
    expect(m.graph.inputs[0]).toEqual({ name: 'idx', elemType: OnnxDataType.INT64, dims: ['n', 1] });
    expect(nodesOf(m, 'Cast')).toEqual([]);
    const gatherIdx = nodesOf(m, 'GatherElements')[0].inputs[1];
    expect(int64s(m, gatherIdx)).toEqual([2n, 0n, 1n, 4n, 3n, 3n]);
    expect(m.graph.initializers.find((i) => i.name === gatherIdx)!.dims).toEqual([2, 3]);
    expect(nodesOf(m, 'ScatterND')[0].attributes.reduction).toEqual({ name: 'reduction', type: OnnxAttributeType.STRING, value: 'add' });
    const shape = producer(m, nodesOf(m, 'Expand')[0].inputs[1])!;
    expect([shape.opType, shape.inputs]).toEqual(['Shape', ['x']]);
  });

  it('a node with several outputs keeps them all, each with value_info; a run-time Reshape target passes through', () => {
    const g = new GraphOps(shapes);
    const x = g.input('x', 'float32', ['batch', 3]);
    const y = g.layerNorm(x, g.param('gamma'), g.param('beta'), 1e-5);
    const [mean, invStd] = g.addOutputs(g.toGraph().nodes[0].name, [{ dtype: 'float32', shape: ['batch', 1] }, { dtype: 'float32', shape: ['batch', 1] }]);
    g.output(g.reshapeTo(g.add(y, g.mul(mean, invStd)), g.shapeOf(x), x.shape), 'y');
    const m = readOnnxModel(graphToOnnx(g.toGraph(), { parameters: values }));
    const [ln] = nodesOf(m, 'LayerNormalization');
    expect(ln.outputs).toEqual([y.name, mean.name, invStd.name]);
    for (const v of [mean, invStd]) expect(m.graph.valueInfo.find((i) => i.name === v.name)).toEqual({ name: v.name, elemType: OnnxDataType.FLOAT, dims: ['batch', 1] });
    const [reshape] = nodesOf(m, 'Reshape');
    expect(producer(m, reshape.inputs[1])!.opType).toBe('Shape');
  });

  it('parametersAsInputs: the named parameters become float32 inputs after the others; the rest stay initializers', () => {
    const g = new GraphOps(shapes);
    g.output(g.layerNorm(g.matMul(g.input('x', 'float32', ['batch', 4]), g.param('w')), g.param('gamma'), g.param('beta'), 1e-5), 'y');
    const training = parametersAsInputs(g.toGraph(), ['w', 'gamma']);
    const m = readOnnxModel(graphToOnnx(training, { parameters: values }));
    expect(m.graph.inputs).toEqual([
      { name: 'x', elemType: OnnxDataType.FLOAT, dims: ['batch', 4] },
      { name: 'w', elemType: OnnxDataType.FLOAT, dims: [4, 3] },
      { name: 'gamma', elemType: OnnxDataType.FLOAT, dims: [3] },
    ]);
    expect(m.graph.initializers.map((i) => i.name)).toEqual(['beta']);
    expect(g.toGraph().initializers.map((i) => i.name)).toEqual(['w', 'gamma', 'beta']);
    expect(() => parametersAsInputs(g.toGraph(), ['w', 'nope'])).toThrow("parametersAsInputs: 'nope' is not a parameter of the graph (has 3: w, gamma, beta)");
  });
});

describe('graphToOnnx: errors name the function, the argument and the value', () => {
  const g = new GraphOps(shapes);
  const x = g.input('x', 'float32', ['batch', 4]);
  g.output(g.matMul(x, g.param('w')), 'y');
  const graph = g.toGraph();

  it.each([
    [{ opset: 16 }, 'graphToOnnx: opset must be an integer >= 17 (LayerNormalization), got 16'],
    [{ inputNames: ['a', 'b'] }, "graphToOnnx: inputNames has 2 names for 1 graph inputs [x]"],
    [{ parameters: () => new Float32Array(3) }, "graphToOnnx: parameter 'w' [4,3] needs 12 values, got 3"],
  ] as const)('%j', (options, message) => {
    expect(() => graphToOnnx(graph, { parameters: values, ...options } as GraphToOnnxOptions)).toThrow(message);
  });

  it('an int attribute or dim beyond 2^53 (protobufjs would round it silently)', () => {
    const x: GraphValue = { name: 'x', dtype: 'float32', shape: [2 ** 60] };
    const big: Graph = { inputs: [x], outputs: [{ ...x, name: 'y' }], initializers: [], valueInfo: [], nodes: [{ op: 'Concat', name: 'c', inputs: ['x'], outputs: ['y'], attrs: { axis: 2 ** 60 } }] };
    expect(() => graphToOnnx(big, { parameters: values })).toThrow("graphToOnnx: attribute 'axis' must be a safe integer, got 1152921504606847000");
    big.nodes[0].attrs.axis = 0;
    expect(() => graphToOnnx(big, { parameters: values })).toThrow("graphToOnnx: dim of 'x' must be a safe integer, got 1152921504606847000");
  });

  it('a dim no input declares', () => {
    const h = new GraphOps(shapes);
    h.output(h.reshape(h.input('x', 'float32', ['batch', 4]), ['rows', 2, 2]), 'y');
    expect(() => graphToOnnx(h.toGraph(), { parameters: values })).toThrow(/graphToOnnx: Reshape node 'Reshape_0' uses dim 'rows', which no graph input declares \(inputs: x \[batch,4\]\)/);
  });
});

describe('parseDim', () => {
  it.each([
    ['seq', [{ sign: 1, n: 1, symbols: ['seq'] }]],
    ['4*batch*seq', [{ sign: 1, n: 4, symbols: ['batch', 'seq'] }]],
    ['1+seq-3', [{ sign: 1, n: 1, symbols: [] }, { sign: 1, n: 1, symbols: ['seq'] }, { sign: -1, n: 3, symbols: [] }]],
  ])('%s', (dim, want) => {
    expect(parseDim(dim)).toEqual(want);
  });
  it('rejects unknown dims', () => {
    expect(() => parseDim('?')).toThrow("graphToOnnx: cannot resolve dim '?' (factor '?')");
  });
});
