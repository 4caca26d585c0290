import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { loadBertForMaskedLM } from '../bert/weights';
import { bertParameterShapes, type BertForMaskedLM } from '../bert/model';
import { GraphOps, type GraphValue } from './graph-ops';
import type { Ops } from './ops';
import { TfOps } from './tf-ops';
import { broadcastShapes, product, quotient, resolveReshape } from './symbolic-shape';
import { join } from 'node:path';

let model: BertForMaskedLM;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = (await loadBertForMaskedLM(join(__dirname, '../../test/fixtures/tiny-bert'))).model;
});
afterAll(() => model.dispose());

describe('symbolic shapes', () => {
  it.each([
    [['batch', 'seq', 32], [-1, 32], ['batch*seq', 32]],
    [['batch*seq', 128], ['batch', 'seq', 4, 32], ['batch', 'seq', 4, 32]],
    [['batch', 'seq', 4, 8], ['batch', -1, 32], ['batch', 'seq', 32]],
    [[3, 12, 32], [-1, 4, 8], [36, 4, 8]],
    [['n', 6], [-1, 4], ['?', 4]],
  ] as const)('reshape %j to %j gives %j', (input, target, want) => {
    expect(resolveReshape([...input], [...target])).toEqual(want);
  });

  it('products, quotients and broadcasting', () => {
    expect(product(['seq', 4, 'batch'])).toBe('4*batch*seq');
    expect(quotient('4*batch*seq', 'seq')).toBe('4*batch');
    expect(quotient('batch', 'seq')).toBe('?');
    expect(broadcastShapes(['batch', 1, 1, 'seq'], ['batch', 4, 'seq', 'seq'], 'add')).toEqual(['batch', 4, 'seq', 'seq']);
    expect(broadcastShapes(['seq', 32], ['batch', 'seq', 32], 'add')).toEqual(['batch', 'seq', 32]);
    expect(() => broadcastShapes([3, 4], [5, 4], 'add')).toThrow('GraphOps.add: shapes [3,4] and [5,4] do not broadcast');
  });
});

/** Wraps TfOps so every computing op call reports the shape of its result, in call order. */
function shapeRecorder(inner: TfOps): { ops: Ops<tf.Tensor>; shapes: number[][] } {
  const shapes: number[][] = [];
  const passive = new Set(['shape', 'dtype', 'param', 'constant', 'scalar', 'kind']);
  const ops = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || passive.has(String(prop))) return value;
      return (...args: unknown[]) => {
        const out = (value as (...a: unknown[]) => tf.Tensor).apply(target, args);
        shapes.push(out.shape);
        return out;
      };
    },
  });
  return { ops, shapes };
}

describe('GraphOps records the BERT forward', () => {
  function record(batch: number | string, seq: number | string, positions: number | string) {
    const g = new GraphOps(model.params);
    const out = model.forward(g, {
      inputIds: g.input('input_ids', 'int32', [batch, seq]),
      attentionMask: g.input('attention_mask', 'int32', [batch, seq]),
      tokenTypeIds: g.input('token_type_ids', 'int32', [batch, seq]),
    }, { positions: g.input('mlm_positions', 'int32', [positions]) });
    g.output(out.lastHiddenState, 'last_hidden_state');
    g.output(out.logits as GraphValue, 'logits');
    return g.toGraph();
  }

  it('with dynamic batch and sequence: inputs, outputs, node list and every parameter as an initializer', () => {
    const graph = record('batch', 'seq', 'n');
    expect(graph.inputs.map((i) => [i.name, i.dtype, i.shape])).toEqual([
      ['input_ids', 'int32', ['batch', 'seq']],
      ['attention_mask', 'int32', ['batch', 'seq']],
      ['token_type_ids', 'int32', ['batch', 'seq']],
      ['mlm_positions', 'int32', ['n']],
    ]);
    expect(graph.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['last_hidden_state', ['batch', 'seq', 32]],
      ['logits', ['n', 200]],
    ]);
    const params = graph.initializers.filter((i) => i.kind === 'parameter');
    expect(params.map((p) => p.name).sort()).toEqual([...bertParameterShapes(model.config).keys()].sort());
    for (const p of params) expect(p.shape).toEqual(model.params.shape(p.name));
    const count = (op: string) => graph.nodes.filter((n) => n.op === op).length;
    // 2 layers x (q, k, v, out, ffn in, ffn out + 2 attention products) + head dense + decoder.
    expect(count('MatMul')).toBe(2 * 8 + 2);
    expect(count('LayerNormalization')).toBe(1 + 2 * 2 + 1);
    expect(count('Gelu')).toBe(2 + 1);
    expect(count('Softmax')).toBe(2);
    expect(count('Gather')).toBe(3); // word + token-type embeddings, MLM positions
    // Every node input is defined before use (a topological order the exporter can emit as is).
    const defined = new Set([...graph.inputs.map((i) => i.name), ...graph.initializers.map((i) => i.name)]);
    for (const n of graph.nodes) {
      for (const i of n.inputs) expect(defined.has(i), `${n.name} input ${i}`).toBe(true);
      n.outputs.forEach((o) => defined.add(o));
    }
    const scores = graph.nodes.find((n) => n.op === 'Softmax')!;
    expect(scores.attrs).toEqual({ axis: -1 });
  });

  it('with static shapes: node output shapes equal the shapes TfOps computes, op by op', () => {
    const [b, len] = [3, 12];
    const graph = record(b, len, 5);
    const { ops, shapes } = shapeRecorder(new TfOps(model.params));
    tf.tidy(() => {
      model.forward(ops, {
        inputIds: tf.zeros([b, len], 'int32'),
        attentionMask: tf.ones([b, len], 'int32'),
        tokenTypeIds: tf.zeros([b, len], 'int32'),
      }, { positions: tf.tensor1d([0, 1, 2, 3, 4], 'int32') });
    });
    const recorded = graph.nodes.filter((n) => n.op !== 'Identity');
    expect(recorded.length).toBe(shapes.length);
    const info = new Map(graph.valueInfo.map((v) => [v.name, v.shape]));
    expect(recorded.map((n) => [n.op, info.get(n.outputs[0])])).toEqual(recorded.map((n, i) => [n.op, shapes[i]]));
  });
});

describe('GraphOps IR-level ops: inferred shapes and dtypes', () => {
  const none = { has: () => false, shape: () => [] };
  it.each([
    ['shapeOf', (g: GraphOps, x: GraphValue) => g.shapeOf(x), 'int64', [3]],
    ['shapeOf dims 1..3', (g: GraphOps, x: GraphValue) => g.shapeOf(x, 1, 3), 'int64', [2]],
    ['size', (g: GraphOps, x: GraphValue) => g.size(x), 'int64', []],
    ['unsqueeze [0, 3]', (g: GraphOps, x: GraphValue) => g.unsqueeze(x, [0, 3]), 'float32', [1, 'batch', 'seq', 1, 4]],
    ['expandLike', (g: GraphOps, x: GraphValue) => g.expandLike(g.scalar(0), x), 'float32', ['batch', 'seq', 4]],
    ['zerosLike', (g: GraphOps, x: GraphValue) => g.zerosLike(x), 'float32', ['batch', 'seq', 4]],
    ['reshapeLike (run-time target)', (g: GraphOps, x: GraphValue) => g.reshapeLike(g.reshape(x, [-1, 4]), x), 'float32', ['batch', 'seq', 4]],
    ['gatherElements', (g: GraphOps, x: GraphValue) => g.gatherElements(x, g.int64Constant([0, 1], [1, 1, 2]), 2), 'float32', [1, 1, 2]],
    ['scatterElementsAdd', (g: GraphOps, x: GraphValue) => g.scatterElementsAdd(x, g.int64Constant([0], [1, 1, 1]), g.constant([1], [1, 1, 1]), 2), 'float32', ['batch', 'seq', 4]],
    ['scatterNDAdd', (g: GraphOps, x: GraphValue) => g.scatterNDAdd(x, g.int64Constant([0, 1], [1, 2]), g.constant([1, 2, 3, 4], [1, 4])), 'float32', ['batch', 'seq', 4]],
    ['padZeros', (g: GraphOps, x: GraphValue) => g.padZeros(x, g.int64Constant([0, 0, 1, 0, 0, 2]), ['batch', 'seq', 7]), 'float32', ['batch', 'seq', 7]],
    ['addN of 3 (broadcasting)', (g: GraphOps, x: GraphValue) => g.addN([x, g.constant([1, 2, 3, 4], [4]), x]), 'float32', ['batch', 'seq', 4]],
    ['compare', (g: GraphOps, x: GraphValue) => g.compare('Less', x, g.scalar(0)), 'bool', ['batch', 'seq', 4]],
    ['minimum', (g: GraphOps, x: GraphValue) => g.minimum(x, g.scalar(0)), 'float32', ['batch', 'seq', 4]],
  ] as const)('%s', (_name, f, dtype, shape) => {
    const g = new GraphOps(none);
    const y = f(g, g.input('x', 'float32', ['batch', 'seq', 4]));
    expect([y.dtype, y.shape]).toEqual([dtype, shape]);
    expect(g.toGraph().valueInfo.find((v) => v.name === y.name)).toEqual(y);
  });

  it('split has one output per piece, named <node>_out, <node>_out1, ...; shapeOf is recorded once per value and range', () => {
    const g = new GraphOps(none);
    const x = g.input('x', 'float32', ['batch', 5]);
    const pieces = g.split(x, 1, g.int64Constant([2, 3]), [['batch', 2], ['batch', 3]]);
    expect(pieces.map((p) => [p.name, p.shape])).toEqual([['Split_0_out', ['batch', 2]], ['Split_0_out1', ['batch', 3]]]);
    expect(g.shapeOf(x)).toBe(g.shapeOf(x));
    expect(g.toGraph().nodes.filter((n) => n.op === 'Shape').length).toBe(1);
  });

  it('continue appends to a copy: addOutputs replaces the node there, the original graph keeps its node', () => {
    const g = new GraphOps({ has: (n: string) => n === 'gamma' || n === 'beta', shape: () => [4] });
    g.output(g.layerNorm(g.input('x', 'float32', ['batch', 4]), g.param('gamma'), g.param('beta'), 1e-5), 'y');
    const original = g.toGraph();
    const more = GraphOps.continue(original, none, { namePrefix: 'b/' });
    const [mean] = more.addOutputs('LayerNormalization_0', [{ dtype: 'float32', shape: ['batch', 1] }, { dtype: 'float32', shape: ['batch', 1] }]);
    expect(mean.name).toBe('b/LayerNormalization_0_out1');
    expect(more.toGraph().nodes[0].outputs).toHaveLength(3);
    expect(original.nodes[0].outputs).toHaveLength(1);
    expect(more.exp(mean).name).toBe('b/Exp_0_out');
    expect(original.nodes.length).toBe(2);
  });

  it("dropout: the identity by default; with dropout: 'inputs' x · a mask input listed in Graph.dropoutMasks", () => {
    const rng = new Rng(1);
    const plain = new GraphOps(none);
    const x = plain.input('x', 'float32', ['batch', 4]);
    expect(plain.dropout(x, 0.1, rng)).toBe(x);
    const g = new GraphOps(none, { dropout: 'inputs' });
    const y = g.dropout(g.dropout(g.input('x', 'float32', ['batch', 4]), 0.1, rng), 0.2, rng);
    expect(g.toGraph().dropoutMasks).toEqual([{ name: 'dropout_mask.0', rate: 0.1 }, { name: 'dropout_mask.1', rate: 0.2 }]);
    expect(g.toGraph().inputs.map((i) => [i.name, i.shape])).toEqual([['x', ['batch', 4]], ['dropout_mask.0', ['batch', 4]], ['dropout_mask.1', ['batch', 4]]]);
    expect(y.shape).toEqual(['batch', 4]);
    expect(() => g.dropout(y, 1, rng)).toThrow('GraphOps.dropout: rate must be in [0, 1), got 1');
  });
});
