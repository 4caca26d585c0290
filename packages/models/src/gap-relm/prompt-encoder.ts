import type { Rng } from '@proj/core';
import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { initEmbedding } from '../layers/embedding';
import { initBiLstm } from '../layers/lstm';
import { initLinear, linear } from '../layers/linear';

export type PromptEncoderKind = 'lstm' | 'mlp';

/**
 * P-tuning prompt encoder (Liu et al. 2021), parameter names as its PyTorch `PromptEncoder`:
 * `${prefix}embedding.weight` [P, H] → (lstm) `${prefix}lstm_head.*` BiLSTM with H/2 units per
 * direction → `${prefix}mlp_head.0` Linear(H, H) → ReLU → `${prefix}mlp_head.2` Linear(H, H).
 * Reparameterising the prompts through a small network is what makes them train stably.
 */
export function initPromptEncoder(store: ParameterStore, prefix: string, kind: PromptEncoderKind, length: number, hidden: number, std: number, rng: Rng): void {
  if (!Number.isInteger(length) || length < 1) throw new RangeError(`initPromptEncoder: length must be an integer >= 1, got ${length}`);
  initEmbedding(store, `${prefix}embedding`, length, hidden, std, rng);
  if (kind === 'lstm') {
    if (hidden % 2 !== 0) throw new RangeError(`initPromptEncoder: hidden must be even for the BiLSTM (hidden / 2 per direction), got ${hidden}`);
    initBiLstm(store, `${prefix}lstm_head`, hidden, hidden / 2, rng);
  }
  initLinear(store, `${prefix}mlp_head.0`, hidden, hidden, std, rng);
  initLinear(store, `${prefix}mlp_head.2`, hidden, hidden, std, rng);
}

/**
 * One LSTM direction over the P prompt rows x [P, in] (a batch of one), PyTorch `nn.LSTM` math and
 * names (gates i, f, g, o). Written here rather than with `lstm()` of layers/: the input products
 * and the bias sum are computed once for all steps (P is static), and `lstm()`'s per-step
 * sum of the two 1-D biases trips a tfjs gradient bug when trained (a gradient's data is freed
 * before it is accumulated: "Cannot read properties of undefined (reading 'backend')").
 */
function promptLstm<T>(ops: Ops<T>, x: T, prefix: string, reverse: boolean): T {
  const suffix = reverse ? '_reverse' : '';
  const whh = ops.param(`${prefix}.weight_hh_l0${suffix}`);
  const hidden = ops.shape(whh)[1] as number;
  const steps = ops.shape(x)[0] as number;
  // Each bias is added to the [P, 4H] product on its own: adding the two 1-D biases to each other
  // is the pattern that breaks tfjs gradients (see above) once the encoder runs twice in a step.
  const product = ops.matMul(x, ops.transpose(ops.param(`${prefix}.weight_ih_l0${suffix}`), [1, 0]));
  const xw = ops.add(ops.add(product, ops.param(`${prefix}.bias_ih_l0${suffix}`)), ops.param(`${prefix}.bias_hh_l0${suffix}`)); // [P, 4H]
  const whhT = ops.transpose(whh, [1, 0]);
  let h = ops.constant(new Float32Array(hidden), [1, hidden]);
  let c = h;
  const outputs: T[] = new Array(steps);
  for (let s = 0; s < steps; s++) {
    const t = reverse ? steps - 1 - s : s;
    const gates = ops.add(ops.slice(xw, [t, 0], [1, -1]), ops.matMul(h, whhT));
    const gate = (k: number) => ops.slice(gates, [0, k * hidden], [1, hidden]);
    c = ops.add(ops.mul(ops.sigmoid(gate(1)), c), ops.mul(ops.sigmoid(gate(0)), ops.tanh(gate(2))));
    h = ops.mul(ops.sigmoid(gate(3)), ops.tanh(c));
    outputs[t] = h;
  }
  return ops.concat(outputs, 0);
}

/** The P prompt embeddings [P, H]; independent of the batch, so computed once per forward. */
export function promptEmbeddings<T>(ops: Ops<T>, prefix: string, kind: PromptEncoderKind): T {
  let x = ops.param(`${prefix}embedding.weight`);
  if (kind === 'lstm') {
    // BiLSTM over the P prompt tokens: forward and backward features side by side, [P, H].
    x = ops.concat([promptLstm(ops, x, `${prefix}lstm_head`, false), promptLstm(ops, x, `${prefix}lstm_head`, true)], 1);
  }
  return linear(ops, ops.relu(linear(ops, x, `${prefix}mlp_head.0`)), `${prefix}mlp_head.2`);
}
