import type { GraphOps, GraphValue } from '../ops/graph-ops';
import { dimEquals } from '../ops/symbolic-shape';

/**
 * The gradient of a broadcast operand: `grad` (the shape of the broadcast result) summed down to
 * `target`'s shape. Leading axes that `target` lacks and axes where `target` has size 1 are summed
 * with static ReduceSums. Where `target` has a symbolic dim that the result does not provably
 * share (a symbol against a number, or '?'), the symbol may be 1 at run time: then the axes to
 * sum are computed from the two Shapes at run time (NonZero of "target dim is 1 and result dim
 * is not") and the sum is reshaped to Shape(target).
 */
export function unbroadcast(g: GraphOps, grad: GraphValue, target: GraphValue): GraphValue {
  const lead = grad.shape.length - target.shape.length;
  if (lead < 0) throw new RangeError(`unbroadcast: gradient [${grad.shape}] has lower rank than its operand '${target.name}' [${target.shape}]`);
  const inner: number[] = [];
  let atRunTime = false;
  target.shape.forEach((t, i) => {
    const d = grad.shape[lead + i];
    if (d === 1) return;
    if (t === 1) inner.push(lead + i);
    else if (typeof t === 'string' && (t === '?' || d === '?' || !dimEquals(t, d))) atRunTime = true;
  });
  if (atRunTime) return unbroadcastAtRunTime(g, grad, target);
  let out = grad;
  if (inner.length > 0) out = g.sum(out, inner, true);
  if (lead > 0) out = g.sum(out, Array.from({ length: lead }, (_, i) => i), false);
  return out;
}

function unbroadcastAtRunTime(g: GraphOps, grad: GraphValue, target: GraphValue): GraphValue {
  const lead = grad.shape.length - target.shape.length;
  const targetShape = g.shapeOf(target);
  const padded = lead > 0 ? g.concat([g.int64Constant(new Array<number>(lead).fill(1)), targetShape], 0) : targetShape;
  const one = g.int64Constant([1], []);
  const summed = g.and(g.equal(padded, one), g.not(g.equal(g.shapeOf(grad), one)));
  const [nonZero] = g.record('NonZero', [summed], [{ dtype: 'int64', shape: [1, '?'] }]);
  const axes = g.reshape(nonZero, [-1]);
  // noop_with_empty_axes: no axis to sum is the identity (not a sum over every axis).
  const [reduced] = g.record('ReduceSum', [grad, axes], [{ dtype: grad.dtype, shape: grad.shape.map(() => '?') }], { keepdims: true, noop_with_empty_axes: true });
  return g.reshapeTo(reduced, targetShape, target.shape);
}
