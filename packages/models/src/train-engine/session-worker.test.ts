import { afterAll, describe, expect, it } from 'vitest';
import { graphToOnnx } from '../onnx/serialize';
import { GraphOps } from '../ops/graph-ops';
import { ParameterStore } from '../ops/parameter-store';
import { SessionWorker, type WireTensor } from './session-worker';

/** y = x · w + 1 and w2 = 2 · w, with x [2, 3] and w [3, 2] as inputs. */
function model(): Uint8Array {
  const g = new GraphOps(new ParameterStore());
  const [x, w] = [g.input('x', 'float32', [2, 3]), g.input('w', 'float32', [3, 2])];
  g.output(g.add(g.matMul(x, w), g.scalar(1)), 'y');
  g.output(g.mul(w, g.scalar(2)), 'w2');
  return graphToOnnx(g.toGraph(), { parameters: () => new Float32Array(0) });
}
const f32 = (values: number[], dims: number[]): WireTensor => ({ type: 'float32', data: Float32Array.from(values), dims });
const cpu = { executionProviders: ['cpu'], intraOpNumThreads: 1 };

describe('SessionWorker', () => {
  const worker = new SessionWorker();
  afterAll(() => worker.terminate());

  it('runs a session in the worker: buffers go and come back (the same memory), pre-allocated outputs are written, the rest returned', async () => {
    const session = await worker.create(model(), cpu);
    const feeds = { x: f32([1, 2, 3, 4, 5, 6], [2, 3]), w: f32([1, 0, 0, 1, 1, 1], [3, 2]) };
    const w2 = f32([0, 0, 0, 0, 0, 0], [3, 2]);
    const x = feeds.x.data;
    const out = await session.run(feeds, { y: null, w2 });
    expect(x.length).toBe(0); // transferred: detached here while the run had it
    expect(Array.from(out.feeds.x as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(out.fetches.w2 as Float32Array)).toEqual([2, 0, 0, 2, 2, 2]);
    expect(out.outputs.y.dims).toEqual([2, 2]);
    expect(Array.from(out.outputs.y.data as Float32Array)).toEqual([5, 6, 11, 12]);
    await session.release();
  });

  it('reports a failed create or run as a rejection with onnxruntime\'s message', async () => {
    await expect(worker.create(Uint8Array.of(1, 2, 3), cpu)).rejects.toThrow('Failed to load model because protobuf parsing failed');
    const session = await worker.create(model(), cpu);
    await expect(session.run({ x: f32([1, 2, 3, 4, 5, 6], [2, 3]) }, { y: null })).rejects.toThrow("input 'w' is missing in 'feeds'");
    await session.release();
  });

  it('refuses requests once terminated', async () => {
    const other = new SessionWorker();
    await other.terminate();
    await expect(other.create(model(), cpu)).rejects.toThrow('SessionWorker: terminated');
  });
});
