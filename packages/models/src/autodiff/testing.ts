/**
 * Test helpers: run a recorded graph on onnxruntime-node (CPU) and compare arrays. Not exported
 * from the package.
 */
import * as ort from 'onnxruntime-node';
import type { Graph } from '../ops/graph-ops';
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
