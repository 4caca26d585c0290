import { describe, expect, it } from 'vitest';
import { GraphOps, type GraphValue } from '../ops/graph-ops';
import { pruneIdentities } from './prune-identities';
import { graphRunner } from './testing';

const NO_PARAMETERS = { has: () => false, shape: (): number[] => [] };

/**
 * m = 2x is read inside (by s) and is an output; an inner Identity sits between s and its reader;
 * x itself is an output (an Identity of an input: kept); m is output twice (the second kept).
 */
function graph() {
  const g = new GraphOps(NO_PARAMETERS);
  const x = g.input('x', 'float32', [3]);
  const identity = (v: GraphValue) => g.record('Identity', [v], [{ dtype: v.dtype, shape: v.shape }])[0];
  const m = g.mul(x, g.scalar(2));
  const s = identity(g.add(m, g.scalar(1)));
  g.output(m, 'updated.m');
  g.output(g.mul(s, s), 'squared');
  g.output(x, 'x_again');
  g.output(m, 'm_again');
  return g.toGraph();
}

describe('pruneIdentities', () => {
  it('drops inner Identities and lets producers write the output names; the outputs stay the same', async () => {
    const before = graph();
    const after = pruneIdentities(before);
    const identities = (gr: typeof before) => gr.nodes.filter((n) => n.op === 'Identity').map((n) => `${n.inputs[0]} -> ${n.outputs[0]}`);
    expect(identities(before)).toHaveLength(5);
    // Kept: the Identity of the graph input, and the second name of the value that became 'updated.m'.
    expect(identities(after)).toEqual(['x -> x_again', 'updated.m -> m_again']);
    expect(after.nodes.find((n) => n.op === 'Mul' && n.outputs[0] === 'updated.m')).toBeDefined();
    expect(after.outputs).toEqual(before.outputs);
    expect(new Set(after.valueInfo.map((v) => v.name)).size).toBe(after.valueInfo.length);
    const feeds = { x: { data: Float32Array.of(1, -2, 0.5), dims: [3] } };
    const [want, got] = await Promise.all([before, after].map(async (gr) => {
      const runner = await graphRunner(gr);
      try {
        return await runner.run(feeds);
      } finally {
        await runner.release();
      }
    }));
    expect(got).toEqual(want);
    expect(Array.from(got.squared)).toEqual([9, 9, 4]);
  });

  it('returns the graph itself when there is nothing to prune', () => {
    const g = new GraphOps(NO_PARAMETERS);
    g.input('x', 'float32', [2]);
    const gr = g.toGraph();
    expect(pruneIdentities(gr)).toBe(gr);
  });
});
