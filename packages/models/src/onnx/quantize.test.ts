import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { parseSgddConfig } from '../sgdd/config';
import { SgddModel } from '../sgdd/model';
import { TINY_SGDD } from '../sgdd/testing';
import { createOnnxSession } from '../onnx-runtime/session';
import { sgddDecoderToOnnx } from './export';
import { quantizeColumnsInt8, quantizeMatMulsInt8 } from './quantize';
import { decodeModelProto, encodeModelProto } from './model-proto';
import { readOnnxModel, type OnnxModel } from './read';

describe('quantizeColumnsInt8', () => {
  const rng = new Rng(5);
  const [k, n] = [7, 5];
  const w = Float32Array.from({ length: k * n }, () => rng.normal() * 0.3);
  for (let r = 0; r < k; r++) w[r * n + 2] = 0; // column 2 all zero

  it('symmetric per column: each value within half a step of its column scale, the column max at ±127, a zero column at scale 1', () => {
    const { q, scales } = quantizeColumnsInt8(w, k, n);
    expect(scales[2]).toBe(1);
    for (let c = 0; c < n; c++) {
      const column = Array.from({ length: k }, (_, r) => q[r * n + c]);
      if (c !== 2) expect(Math.max(...column.map(Math.abs))).toBe(127);
      else expect(column.every((v) => v === 0)).toBe(true);
      for (let r = 0; r < k; r++) expect(Math.abs(q[r * n + c] * scales[c] - w[r * n + c])).toBeLessThanOrEqual(scales[c] / 2 + 1e-7);
    }
  });

  it('a weight given as its [N, K] transpose quantizes to the same [K, N] int8 matrix', () => {
    const t = Float32Array.from({ length: k * n }, (_, i) => w[(i % k) * n + Math.floor(i / k)]);
    const direct = quantizeColumnsInt8(w, k, n);
    const viaTranspose = quantizeColumnsInt8(t, k, n, true);
    expect(Array.from(viaTranspose.q)).toEqual(Array.from(direct.q));
    expect(Array.from(viaTranspose.scales)).toEqual(Array.from(direct.scales));
  });
});

describe('quantizeMatMulsInt8 on an exported SGDD decoder', () => {
  let model: SgddModel;
  let float: Uint8Array;
  beforeAll(async () => {
    await initBackend({ backend: 'cpu' });
    model = SgddModel.random(parseSgddConfig({ ...TINY_SGDD, initializer_range: 0.2 }), new Rng(3));
    float = await sgddDecoderToOnnx(model);
  });
  afterAll(() => model.dispose());

  /** MatMuls whose B is a float initializer or a Transpose of one. */
  const constantMatMuls = (m: OnnxModel) => {
    const inits = new Set(m.graph.initializers.map((t) => t.name));
    const transposed = new Set(m.graph.nodes.filter((nd) => nd.opType === 'Transpose' && inits.has(nd.inputs[0])).map((nd) => nd.outputs[0]));
    return m.graph.nodes.filter((nd) => nd.opType === 'MatMul' && (inits.has(nd.inputs[1]) || transposed.has(nd.inputs[1])));
  };

  const feeds = () => {
    const rng = new Rng(9);
    const [batch, length, E] = [2, 6, TINY_SGDD.semantic_size];
    const i64 = (v: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), dims);
    const ids = Array.from({ length: batch * length }, (_, i) => (i % length === 0 ? 2 : i % length === length - 1 ? 3 : rng.int(2) === 0 ? 1 : 4 + rng.int(16)));
    return {
      input_ids: i64(ids, [batch, length]),
      attention_mask: i64(Array(batch * length).fill(1), [batch, length]),
      timesteps: i64([40, 70], [batch]),
      semantic: new ort.Tensor('float32', Float32Array.from({ length: batch * E }, () => rng.normal()), [batch, E]),
      condition: new ort.Tensor('float32', Float32Array.from([1, 0]), [batch]),
      positions: i64(Array.from({ length: batch * length }, (_, i) => i), [batch * length]),
      pass_weights: new ort.Tensor('float32', Float32Array.from([1]), [1]),
    };
  };

  it('every constant-weight MatMul becomes DynamicQuantizeLinear + MatMulInteger; the float weights and their Transposes go unless a Gather still reads them', () => {
    const before = readOnnxModel(float);
    const { bytes, report } = quantizeMatMulsInt8(float, { minElements: 0 });
    const after = readOnnxModel(bytes);
    const wanted = constantMatMuls(before).length;
    expect(wanted).toBeGreaterThan(8);
    expect(report.quantized).toBe(wanted);
    expect(report.keptFloat).toBe(before.graph.nodes.filter((nd) => nd.opType === 'MatMul').length - wanted);
    expect(constantMatMuls(after)).toEqual([]);
    expect(after.graph.nodes.filter((nd) => nd.opType === 'MatMulInteger')).toHaveLength(wanted);
    const quantizers = after.graph.nodes.filter((nd) => nd.opType === 'DynamicQuantizeLinear');
    expect(quantizers.length).toBeLessThanOrEqual(wanted); // one per distinct input
    expect(new Set(quantizers.map((nd) => nd.inputs[0])).size).toBe(quantizers.length);
    expect(after.graph.nodes.filter((nd) => nd.opType === 'Transpose' && after.graph.initializers.some((t) => t.name === nd.inputs[0]))).toEqual([]);
    // The tied word embeddings: still float for the input Gather, and an int8 transpose for the output projection.
    const word = after.graph.nodes.find((nd) => nd.opType === 'Gather' && after.graph.initializers.find((t) => t.name === nd.inputs[0] && t.dims.length === 2));
    expect(word).toBeDefined();
    expect(after.graph.initializers.filter((t) => t.dataType === 3).length).toBe(new Set(after.graph.nodes.filter((nd) => nd.opType === 'MatMulInteger').map((nd) => nd.inputs[1])).size);
    expect(report.elements).toBeGreaterThan(0);
  });

  it('runs on onnxruntime close to the float model: logits within 5% of their range, the same argmax at nearly every position', async () => {
    const { bytes } = quantizeMatMulsInt8(float, { minElements: 0 });
    const [fs, qs] = await Promise.all([ort.InferenceSession.create(float), ort.InferenceSession.create(bytes)]);
    const [a, b] = [(await fs.run(feeds())).logits, (await qs.run(feeds())).logits];
    expect(b.dims).toEqual(a.dims);
    const [fa, fb] = [a.data as Float32Array, b.data as Float32Array];
    const range = Math.max(...fa) - Math.min(...fa);
    const diff = Math.max(...fa.map((v, i) => Math.abs(v - fb[i])));
    expect(diff).toBeGreaterThan(0); // it did change the arithmetic
    expect(diff).toBeLessThan(0.05 * range);
    const V = a.dims[1];
    const argmax = (x: Float32Array, row: number) => x.subarray(row * V, (row + 1) * V).reduce((best, v, i, r) => (v > r[best] ? i : best), 0);
    const rows = a.dims[0];
    const same = Array.from({ length: rows }, (_, r) => argmax(fa, r) === argmax(fb, r)).filter(Boolean).length;
    expect(same).toBeGreaterThanOrEqual(rows - 1);
    await Promise.all([fs.release(), qs.release()]);
  });

  it('initializers listed as graph inputs too (models from before IR 4): the dropped ones leave the inputs, so the feeds stay the same', async () => {
    const proto = decodeModelProto(float);
    const graph = proto.graph!;
    graph.input = [...(graph.input ?? []), ...(graph.initializer ?? []).map((t) => ({ name: t.name, type: { tensor_type: { elem_type: t.data_type, shape: { dim: (t.dims ?? []).map((d) => ({ dim_value: d })) } } } }))];
    const { bytes } = quantizeMatMulsInt8(encodeModelProto(proto), { minElements: 0 });
    const q = readOnnxModel(bytes);
    const inits = new Set(q.graph.initializers.map((t) => t.name));
    expect(q.graph.inputs.filter((i) => !inits.has(i.name)).map((i) => i.name)).toEqual(readOnnxModel(float).graph.inputs.map((i) => i.name));
    const session = await ort.InferenceSession.create(bytes);
    expect((await session.run(feeds())).logits.dims[1]).toBe(TINY_SGDD.vocab_size);
    await session.release();
  });

  it('createOnnxSession({ int8 }) quantizes before the session is made, says so, and returns the report; without it nothing changes', async () => {
    const lines: string[] = [];
    const q = await createOnnxSession(float, { executionProviders: ['cpu'], int8: true, log: (l) => lines.push(l) });
    expect(q.quantized).toEqual(quantizeMatMulsInt8(float).report);
    expect(lines[0]).toMatch(/^onnx: <\d+ bytes>: int8: 0 weight MatMuls quantized, \d+ left float/);
    const f = await createOnnxSession(float, { executionProviders: ['cpu'] });
    expect(f.quantized).toBeUndefined();
    await Promise.all([q.session.release(), f.session.release()]);
  });

  it('weights under minElements stay float: at the default 4,096 nothing in this tiny decoder is quantized', () => {
    const { report } = quantizeMatMulsInt8(float);
    expect(report.quantized).toBe(0);
    expect(constantMatMuls(readOnnxModel(quantizeMatMulsInt8(float).bytes))).toHaveLength(constantMatMuls(readOnnxModel(float)).length);
  });
});
