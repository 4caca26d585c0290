import { describe, expect, it } from 'vitest';
import { GraphOps } from '../ops/graph-ops';
import { withoutDeadNodes } from './dead-nodes';

const NO_PARAMETERS = { has: () => false, shape: (): number[] => [] };

describe('withoutDeadNodes', () => {
  it('drops the nodes and constants no output reads, keeps inputs and everything an output needs', () => {
    const g = new GraphOps(NO_PARAMETERS);
    const x = g.input('x', 'float32', [3]);
    const unread = g.input('unread', 'float32', [3]);
    const kept = g.mul(x, g.scalar(2));
    g.exp(g.add(kept, g.scalar(7))); // dead: nothing reads it, and its constant 7 goes with it
    g.output(g.sqrt(kept), 'y');
    const before = g.toGraph();
    const after = withoutDeadNodes(before);
    expect(before.nodes.map((n) => n.op)).toEqual(['Mul', 'Add', 'Exp', 'Sqrt', 'Identity']);
    expect(after.nodes.map((n) => n.op)).toEqual(['Mul', 'Sqrt', 'Identity']);
    expect(after.initializers).toHaveLength(1);
    expect(after.inputs.map((i) => i.name)).toEqual(['x', unread.name]);
    expect(new Set(after.valueInfo.map((v) => v.name))).toEqual(new Set(after.nodes.flatMap((n) => n.outputs)));
    expect(withoutDeadNodes(after)).toBe(after);
  });
});
