import type { BertInputs, BertModel } from '../bert/model';
import type { Ops } from '../ops/ops';

/**
 * Mean of the hidden states [B, L, E] over the positions where mask [B, L] is 1 (padding
 * excluded): [B, E]. A row with no real token gives zeros, not NaN.
 */
export function meanPool<T>(ops: Ops<T>, hidden: T, mask: T): T {
  const [b, l] = ops.shape(mask);
  const m = ops.reshape(ops.cast(mask, 'float32'), [b, l, 1]);
  const total = ops.sum(ops.mul(hidden, m), [1]);
  const count = ops.maximum(ops.sum(m, [1]), ops.scalar(1));
  return ops.div(total, count);
}

/**
 * The sentence vector of a frozen encoder: its last hidden state mean-pooled over non-padding
 * tokens, [B, E]. The encoder never trains; compute each sentence's vector once and cache it.
 */
export function encodeSentences<T>(ops: Ops<T>, encoder: BertModel, inputs: BertInputs<T>): T {
  if (inputs.attentionMask === undefined) throw new TypeError('encodeSentences: inputs.attentionMask is required (pooling skips padding)');
  return meanPool(ops, encoder.forward(ops, inputs).lastHiddenState, inputs.attentionMask);
}
