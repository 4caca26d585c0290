import * as tf from '@tensorflow/tfjs-core';
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
