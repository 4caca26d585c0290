import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { graphToOnnx } from '../onnx/serialize';
import { GraphOps } from '../ops/graph-ops';
import { ParameterStore } from '../ops/parameter-store';
import { TfOps } from '../ops/tf-ops';
import { BERT_ATTENTION_NAMES, initAttention, multiHeadAttention, prefixed } from './attention';
import { applyRope, ropeAngles, ropeTables } from './rope';

let store: ParameterStore;
let ops: TfOps;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  store = new ParameterStore();
  ops = new TfOps(store);
});
afterAll(() => store.dispose());

const rope = (x: number[][][][], options: { offset?: number; positions?: number[][]; theta?: number; maxPositions?: number }) =>
  tf.tidy(() => {
    const t = tf.tensor4d(x);
    const positions = options.positions ? tf.tensor2d(options.positions, undefined, 'int32') : undefined;
    const angles = ropeAngles(ops, t.shape[2], t.shape[3], { maxPositions: options.maxPositions ?? 32, theta: options.theta, offset: options.offset, positions });
    return applyRope(ops, t, angles).arraySync() as number[][][][];
  });

/** Plain-JS RoPE: channel i and i + d/2 form a pair rotated by p * theta^(-2i/d) (HF Llama's rotate-half). */
function naiveRope(v: number[], p: number, theta = 10000): number[] {
  const d = v.length;
  const out = [...v];
  for (let i = 0; i < d / 2; i++) {
    const a = p * Math.pow(theta, (-2 * i) / d);
    out[i] = v[i] * Math.cos(a) - v[i + d / 2] * Math.sin(a);
    out[i + d / 2] = v[i + d / 2] * Math.cos(a) + v[i] * Math.sin(a);
  }
  return out;
}

type Nested = number | Nested[];
const randn = (rng: Rng, ...shape: number[]): Nested => (shape.length === 0 ? rng.normal() : [...Array(shape[0])].map(() => randn(rng, ...shape.slice(1))));

describe('RoPE', () => {
  it('hand-computed values: d = 2 at position 1, d = 4 at position 2 with theta 100', () => {
    // d = 2: (1, 0) rotates by 1 rad; (0, 1) goes to (-sin 1, cos 1).
    const [[[, p1]]] = rope([[[[9, 9], [1, 0]]]], {});
    expect(p1[0]).toBeCloseTo(0.5403023, 6);
    expect(p1[1]).toBeCloseTo(0.841471, 6);
    // d = 4, theta = 100: frequencies (1, 0.1), angles at position 2: (2, 0.2); x = (1, 2, 3, 4).
    const [[[got]]] = rope([[[[1, 2, 3, 4]]]], { offset: 2, theta: 100 });
    [-3.1440391, 1.1654559, -0.3391431, 4.317605].forEach((want, j) => expect(got[j]).toBeCloseTo(want, 5));
    // Position 0 is the identity.
    const [[[z]]] = rope([[[[1, 2, 3, 4]]]], {});
    expect(z).toEqual([1, 2, 3, 4]);
  });

  it('matches a plain-JS rotation of each channel pair, with an offset', () => {
    const x = randn(new Rng(1), 2, 3, 5, 8) as number[][][][];
    const got = rope(x, { offset: 4 });
    x.forEach((b, bi) => b.forEach((h, hi) => h.forEach((v, l) => naiveRope(v, l + 4).forEach((w, j) => expect(got[bi][hi][l][j]).toBeCloseTo(w, 5)))));
  });

  it('offset, per-row positions and a longer sequence agree (KV-cache decoding sees the same angles)', () => {
    const x = randn(new Rng(2), 2, 2, 6, 4) as number[][][][];
    const full = rope(x, {});
    const tail = rope(x.map((b) => b.map((h) => h.slice(3))), { offset: 3 });
    const byPositions = rope(x.map((b) => b.map((h) => h.slice(3))), { positions: [[3, 4, 5], [3, 4, 5]] });
    for (const b of [0, 1]) for (const h of [0, 1]) for (const l of [0, 1, 2]) for (const j of [0, 1, 2, 3]) {
      expect(tail[b][h][l][j]).toBeCloseTo(full[b][h][l + 3][j], 6);
      expect(byPositions[b][h][l][j]).toBeCloseTo(full[b][h][l + 3][j], 6);
    }
    // Rows may sit at different positions.
    const mixed = rope([[[x[0][0][0]]], [[x[0][0][0]]]], { positions: [[0], [5]] });
    naiveRope(x[0][0][0], 5).forEach((w, j) => expect(mixed[1][0][0][j]).toBeCloseTo(w, 5));
  });

  it('a query-key dot product depends only on the relative position', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 10; trial++) {
      const [q, k] = [randn(rng, 8) as number[], randn(rng, 8) as number[]];
      const [m, n, s] = [rng.int(20), rng.int(20), 1 + rng.int(10)];
      const dot = (a: number[], b: number[]) => a.reduce((acc, v, i) => acc + v * b[i], 0);
      const [[[qa]]] = rope([[[q]]], { offset: m });
      const [[[ka]]] = rope([[[k]]], { offset: n });
      const [[[qb]]] = rope([[[q]]], { offset: m + s });
      const [[[kb]]] = rope([[[k]]], { offset: n + s });
      expect(dot(qb, kb)).toBeCloseTo(dot(qa, ka), 4);
    }
  });

  it('rejects bad arguments, naming the function and value', () => {
    expect(() => ropeTables(3, 8)).toThrow(/ropeTables: headDim must be a positive even integer, got 3/);
    expect(() => rope([[[[1, 2], [3, 4]]]], { offset: 31 })).toThrow(/ropeAngles: positions 31\.\.32 exceed maxPositions 32/);
  });

  it('in multiHeadAttention: shifting every position leaves self-attention unchanged; without RoPE, token order is invisible', () => {
    const names = prefixed('rope.', BERT_ATTENTION_NAMES);
    initAttention(store, names, 8, 0.5, new Rng(4));
    const x = randn(new Rng(5), 1, 4, 8) as number[][][];
    const run = (xs: number[][][], offset?: number) =>
      tf.tidy(() => {
        const angles = offset === undefined ? undefined : ropeAngles(ops, 4, 4, { maxPositions: 32, offset });
        return multiHeadAttention(ops, tf.tensor3d(xs), names, { numHeads: 2, rope: angles }).arraySync() as number[][][];
      });
    const [a, b] = [run(x, 0), run(x, 9)];
    a[0].forEach((row, i) => row.forEach((v, j) => expect(b[0][i][j]).toBeCloseTo(v, 4)));
    // Swapping tokens 0 and 1: without RoPE output rows swap exactly; with RoPE they do not.
    const swapped = [[x[0][1], x[0][0], x[0][2], x[0][3]]];
    const [plain, plainSwapped] = [run(x), run(swapped)];
    plain[0][0].forEach((v, j) => expect(plainSwapped[0][1][j]).toBeCloseTo(v, 5));
    const ropeSwapped = run(swapped, 0);
    expect(Math.max(...a[0][0].map((v, j) => Math.abs(v - ropeSwapped[0][1][j])))).toBeGreaterThan(1e-3);
  });

  it('GraphOps records it with a dynamic sequence; onnxruntime equals TfOps (offset and runtime positions)', async () => {
    const g = new GraphOps(store);
    const x = g.input('x', 'float32', ['batch', 2, 'seq', 8]);
    const positions = g.input('positions', 'int32', ['batch', 'seq']);
    g.output(applyRope(g, x, ropeAngles(g, 'seq', 8, { maxPositions: 64, offset: 5 })), 'from_offset');
    g.output(applyRope(g, x, ropeAngles(g, 'seq', 8, { maxPositions: 64, positions })), 'from_positions');
    const graph = g.toGraph();
    expect(graph.outputs.map((o) => o.shape)).toEqual([['batch', 2, 'seq', 8], ['batch', 2, 'seq', 8]]);
    const session = await ort.InferenceSession.create(graphToOnnx(graph, { parameters: () => new Float32Array(0) }));
    const xs = randn(new Rng(6), 3, 2, 7, 8) as number[][][][];
    const pos = [[5, 6, 7, 8, 9, 10, 11], [0, 1, 2, 3, 4, 5, 6], [9, 3, 0, 7, 1, 1, 2]];
    const out = await session.run({
      x: new ort.Tensor('float32', Float32Array.from(xs.flat(3)), [3, 2, 7, 8]),
      positions: new ort.Tensor('int64', BigInt64Array.from(pos.flat(), BigInt), [3, 7]),
    });
    const want = [rope(xs, { offset: 5, maxPositions: 64 }).flat(3), rope(xs, { positions: pos, maxPositions: 64 }).flat(3)];
    for (const [i, name] of ['from_offset', 'from_positions'].entries()) {
      const got = out[name].data as Float32Array;
      expect(got.length).toBe(want[i].length);
      expect(Math.max(...want[i].map((w, j) => Math.abs(w - got[j])))).toBeLessThan(1e-5);
    }
    await session.release();
  });
});
