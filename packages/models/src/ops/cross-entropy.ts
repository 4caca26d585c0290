import type { Ops } from './ops';

/**
 * Mean cross-entropy of logits [N, V] against int32 targets [N], skipping targets equal to
 * `ignoreIndex`: -sum(log p[target] · kept) / max(#kept, 1), so 0 (not NaN, as PyTorch and ONNX
 * SoftmaxCrossEntropyLoss give) when every target is ignored. Written once on `Ops`; each engine
 * passes how it picks log p[i, target_i] from log-probabilities [N, V] (a one-hot product on tfjs,
 * GatherElements in a graph). `safeTargets` has the ignored targets replaced by 0.
 */
export function maskedCrossEntropy<T>(ops: Ops<T>, logits: T, targets: T, ignoreIndex: number, pick: (logProbs: T, safeTargets: T) => T): T {
  const ignored = ops.equal(targets, ops.scalar(ignoreIndex, 'int32'));
  const safeTargets = ops.where(ignored, ops.scalar(0, 'int32'), targets);
  const picked = pick(ops.logSoftmax(logits), safeTargets);
  const kept = ops.sub(ops.scalar(1), ops.cast(ignored, 'float32'));
  return ops.div(ops.neg(ops.sum(ops.mul(picked, kept), [0])), ops.maximum(ops.sum(kept, [0]), ops.scalar(1)));
}
