import { describe, expect, it } from 'vitest';
import { GraphOps } from '../ops/graph-ops';
import { appendGradients } from './gradients';

const PARAMS = new Map<string, number[]>([
  ['w', [4, 3]],
  ['unused', [3]],
]);
const shapes = { has: (n: string) => PARAMS.has(n), shape: (n: string) => PARAMS.get(n)! };

/** loss = Σ tanh(x · w), with the unused parameter recorded but not on the path. */
function graph() {
  const g = new GraphOps(shapes);
  const x = g.input('x', 'float32', ['batch', 4]);
  const h = g.matMul(x, g.param('w'));
  g.param('unused');
  g.output(g.sum(g.tanh(h), [0, 1]), 'loss');
  g.output(h, 'hidden');
  return g.toGraph();
}

describe('appendGradients', () => {
  it('appends one gradient output per wrt name with its shape, after the forward outputs, and leaves the input graph alone', () => {
    const forward = graph();
    const nodes = forward.nodes.length;
    const { graph: out, gradients } = appendGradients(forward, { loss: 'loss', wrt: ['w', 'x'] });
    expect([...gradients.entries()]).toEqual([['w', 'grad.w'], ['x', 'grad.x']]);
    expect(out.outputs.map((o) => [o.name, o.shape])).toEqual([['loss', []], ['hidden', ['batch', 3]], ['grad.w', [4, 3]], ['grad.x', ['batch', 4]]]);
    expect(forward.nodes.length).toBe(nodes);
    expect(out.nodes.slice(nodes).every((n) => n.name.startsWith('grad/'))).toBe(true);
    // Backward of Σ tanh(x w): a Tanh rule (1 - y²), a ReduceSum rule (Expand), two MatMuls for the operands.
    expect(out.nodes.slice(nodes).filter((n) => n.op === 'MatMul').length).toBe(2);
  });

  it.each([
    [{ loss: 'loss', wrt: ['unused'] }, "appendGradients: 'unused' has no path to the loss 'loss' (freeze it or leave it out of wrt)"],
    [{ loss: 'hidden', wrt: ['w'] }, "appendGradients: loss 'hidden' must be a float32 scalar, got float32 [batch,3]"],
    [{ loss: 'loss', wrt: ['nope'] }, "appendGradients: wrt 'nope' must be a float32 graph input or initializer, got no such leaf"],
    [{ loss: 'loss', wrt: ['w', 'w'] }, 'appendGradients: wrt repeats a name: [w, w]'],
  ])('refuses %j', (options, message) => {
    expect(() => appendGradients(graph(), options)).toThrow(message);
  });

  it('a MatMul by a transposed weight (tied projection) reads the weight, not a transpose of the transpose', () => {
    const g = new GraphOps(shapes);
    const x = g.input('x', 'float32', [2, 3]);
    g.output(g.sum(g.tanh(g.matMul(x, g.transpose(g.param('w'), [1, 0]))), [0, 1]), 'loss');
    const { graph: out } = appendGradients(g.toGraph(), { loss: 'loss', wrt: ['w', 'x'] });
    const backward = out.nodes.filter((n) => n.name.startsWith('grad/'));
    // d x = dy · w (no Transpose); d w = dyᵀ · x in w's layout (one Transpose, which onnxruntime
    // folds into the product), not (xᵀ · dy)ᵀ: the first product is dropped as dead.
    expect(backward.find((n) => n.op === 'MatMul' && n.inputs.includes('w'))).toBeDefined();
    expect(backward.filter((n) => n.op === 'Transpose')).toHaveLength(1);
    expect(backward.filter((n) => n.op === 'MatMul')).toHaveLength(2);
  });

  it('an op without a rule on the path is an error naming the node and the op', () => {
    const g = new GraphOps(shapes);
    const x = g.input('x', 'float32', [2, 4]);
    const [y] = g.record('Softplus', [g.matMul(x, g.param('w'))], [{ dtype: 'float32', shape: [2, 3] }]);
    g.output(g.sum(y, [0, 1]), 'loss');
    expect(() => appendGradients(g.toGraph(), { loss: 'loss', wrt: ['w'] })).toThrow("appendGradients: no gradient rule for op 'Softplus' (node 'Softplus_0', on the path to the loss 'loss')");
  });
});
