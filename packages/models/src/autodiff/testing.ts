/**
 * Test helpers: run a recorded graph on onnxruntime-node (CPU) and compare arrays. Not exported
 * from the package.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '@proj/core';
import * as ort from 'onnxruntime-node';
import { resolveBertConfig } from '../bert/config';
import type { BertForMaskedLM } from '../bert/model';
import type { GraphOps, Graph, GraphValue } from '../ops/graph-ops';
import type { Ops } from '../ops/ops';
import { graphToOnnx } from '../onnx/serialize';
import { createOnnxSession } from '../onnx-runtime/session';

export interface HostTensor {
  data: Float32Array | Int32Array;
  dims: number[];
}

export interface GraphRunner {
  run(feeds: Record<string, HostTensor>): Promise<Record<string, Float32Array>>;
  release(): Promise<void>;
}

/**
 * A CPU session of `graph` (serialized at `opset`): feeds by IR input name; int inputs go in as
 * int64 (the serializer's boundary), floats as float32; float32 outputs come back by name.
 */
export async function graphRunner(graph: Graph, options: { parameters?: (name: string) => Float32Array; opset?: number } = {}): Promise<GraphRunner> {
  const noParameter = (name: string): Float32Array => {
    throw new Error(`graphRunner: no value for parameter '${name}'`);
  };
  const bytes = graphToOnnx(graph, { parameters: options.parameters ?? noParameter, opset: options.opset });
  const { session } = await createOnnxSession(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const dtypes = new Map(graph.inputs.map((i) => [i.name, i.dtype]));
  return {
    async run(feeds) {
      const tensors: Record<string, ort.Tensor> = {};
      for (const [name, t] of Object.entries(feeds)) {
        const dtype = dtypes.get(name);
        if (dtype === undefined) throw new Error(`graphRunner.run: '${name}' is not a graph input (inputs: ${[...dtypes.keys()].join(', ')})`);
        tensors[name] = dtype === 'float32' ? new ort.Tensor('float32', Float32Array.from(t.data), t.dims) : new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(v)), t.dims);
      }
      const out = await session.run(tensors);
      const result: Record<string, Float32Array> = {};
      for (const [name, v] of Object.entries(out)) if ((v as ort.Tensor).type === 'float32') result[name] = (v as ort.Tensor).data as Float32Array;
      return result;
    },
    release: () => session.release(),
  };
}

/** Largest |a - b| / (atol + rtol · |b|); <= 1 means within tolerance. */
export function worstRatio(a: ArrayLike<number>, b: ArrayLike<number>, atol: number, rtol: number): number {
  if (a.length !== b.length) throw new RangeError(`worstRatio: lengths differ (${a.length} vs ${b.length})`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (atol + rtol * Math.abs(b[i])));
  return Number.isNaN(worst) ? Infinity : worst;
}

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Tiny BERT, dropout off (eval-mode forward), a larger init range so every gradient is well above float noise. */
export const TINY_BERT = resolveBertConfig({
  vocabSize: 40,
  hiddenSize: 16,
  numHiddenLayers: 2,
  numAttentionHeads: 2,
  intermediateSize: 32,
  maxPositionEmbeddings: 12,
  initializerRange: 0.2,
  hiddenDropoutProb: 0,
  attentionProbsDropoutProb: 0,
});

export interface TinyBertBatch {
  b: number;
  len: number;
  ids: Int32Array;
  mask: Int32Array;
  types: Int32Array;
  positions: Int32Array;
  labels: Int32Array;
}

/** A padded batch of 3 × 7 with repeated ids, sentence pairs, and one ignored label. */
export function tinyBertBatch(rng: Rng): TinyBertBatch {
  const [b, len] = [3, 7];
  const lengths = [7, 5, 3];
  const ids = new Int32Array(b * len);
  const mask = new Int32Array(b * len);
  const types = new Int32Array(b * len);
  for (let i = 0; i < b; i++) {
    for (let j = 0; j < lengths[i]; j++) {
      ids[i * len + j] = 1 + rng.int(8); // ids 1..8 only: the embedding gradient sums repeats
      mask[i * len + j] = 1;
      types[i * len + j] = j >= 4 ? 1 : 0;
    }
  }
  const positions = Int32Array.from([1, 3, 6, 8, 9, 14, 15]);
  const labels = Int32Array.from([5, 17, 2, -100, 30, 5, 11]);
  return { b, len, ids, mask, types, positions, labels };
}

/** The masked-LM loss of `model` on a tiny batch, through any Ops. */
export function tinyBertLoss<T>(ops: Ops<T>, model: BertForMaskedLM, x: TinyBertBatch, tensor: (data: Int32Array, dims: number[]) => T, training?: { rng: Rng }): T {
  return model.loss(ops, {
    inputIds: tensor(x.ids, [x.b, x.len]),
    attentionMask: tensor(x.mask, [x.b, x.len]),
    tokenTypeIds: tensor(x.types, [x.b, x.len]),
  }, tensor(x.positions, [x.positions.length]), tensor(x.labels, [x.labels.length]), { training });
}

/** tfjs int32 tensors for `tinyBertLoss`. */
export const tfInt32 = (data: Int32Array, dims: number[]): tf.Tensor => tf.tensor(data, dims, 'int32');

/** The loss recorded with dynamic batch / sequence / mask count. */
export function recordTinyBertLoss(g: GraphOps, model: BertForMaskedLM, training?: { rng: Rng }): GraphValue {
  return model.loss(g, {
    inputIds: g.input('input_ids', 'int32', ['batch', 'seq']),
    attentionMask: g.input('attention_mask', 'int32', ['batch', 'seq']),
    tokenTypeIds: g.input('token_type_ids', 'int32', ['batch', 'seq']),
  }, g.input('positions', 'int32', ['n']), g.input('labels', 'int32', ['n']), { training });
}

/** Feeds of `recordTinyBertLoss`'s inputs. */
export function tinyBertFeeds(x: TinyBertBatch): Record<string, HostTensor> {
  return {
    input_ids: { data: x.ids, dims: [x.b, x.len] },
    attention_mask: { data: x.mask, dims: [x.b, x.len] },
    token_type_ids: { data: x.types, dims: [x.b, x.len] },
    positions: { data: x.positions, dims: [x.positions.length] },
    labels: { data: x.labels, dims: [x.labels.length] },
  };
}
