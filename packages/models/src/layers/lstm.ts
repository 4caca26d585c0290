import type { Rng } from '@proj/core';
import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { initUniform } from './init';

/**
 * LSTM from primitives with PyTorch `nn.LSTM` names and layout, so a P-tuning prompt encoder
 * checkpoint maps directly: `${prefix}.weight_ih_l0${suffix}` [4H, in], `weight_hh_l0` [4H, H],
 * `bias_ih_l0`, `bias_hh_l0` [4H]; gates in the order i, f, g, o; suffix '_reverse' for the
 * backward direction.
 */
export function initLstmDirection(store: ParameterStore, prefix: string, inputSize: number, hidden: number, rng: Rng, suffix = ''): void {
  const bound = 1 / Math.sqrt(hidden); // PyTorch's default init
  initUniform(store, `${prefix}.weight_ih_l0${suffix}`, [4 * hidden, inputSize], bound, rng);
  initUniform(store, `${prefix}.weight_hh_l0${suffix}`, [4 * hidden, hidden], bound, rng);
  initUniform(store, `${prefix}.bias_ih_l0${suffix}`, [4 * hidden], bound, rng);
  initUniform(store, `${prefix}.bias_hh_l0${suffix}`, [4 * hidden], bound, rng);
}

export function initBiLstm(store: ParameterStore, prefix: string, inputSize: number, hidden: number, rng: Rng): void {
  initLstmDirection(store, prefix, inputSize, hidden, rng);
  initLstmDirection(store, prefix, inputSize, hidden, rng, '_reverse');
}

/** One step: x [B, in], h/c [B, H] -> new h, c. */
export function lstmCell<T>(ops: Ops<T>, x: T, h: T, c: T, prefix: string, suffix = ''): { h: T; c: T } {
  const wih = ops.param(`${prefix}.weight_ih_l0${suffix}`);
  const whh = ops.param(`${prefix}.weight_hh_l0${suffix}`);
  const hidden = ops.shape(whh)[1];
  const gates = ops.add(
    ops.add(ops.matMul(x, ops.transpose(wih, [1, 0])), ops.matMul(h, ops.transpose(whh, [1, 0]))),
    ops.add(ops.param(`${prefix}.bias_ih_l0${suffix}`), ops.param(`${prefix}.bias_hh_l0${suffix}`)),
  );
  const gate = (k: number) => ops.slice(gates, [0, k * (hidden as number)], [-1, hidden]);
  const i = ops.sigmoid(gate(0));
  const f = ops.sigmoid(gate(1));
  const g = ops.tanh(gate(2));
  const o = ops.sigmoid(gate(3));
  const cNext = ops.add(ops.mul(f, c), ops.mul(i, g));
  return { h: ops.mul(o, ops.tanh(cNext)), c: cNext };
}

/** Runs one direction over x [B, L, in] (L must be static) with zero initial state: [B, L, H]. */
export function lstm<T>(ops: Ops<T>, x: T, prefix: string, reverse = false): T {
  const [b, len, inputSize] = ops.shape(x);
  if (typeof len !== 'number') throw new RangeError(`lstm(${prefix}): sequence length must be static, got '${len}'`);
  const suffix = reverse ? '_reverse' : '';
  const hidden = ops.shape(ops.param(`${prefix}.weight_hh_l0${suffix}`))[1];
  // Zero state [B, H] derived from x (x[:, 0, 0] * 0-row) so a recorded graph keeps B dynamic.
  const zeros = ops.mul(ops.reshape(ops.slice(x, [0, 0, 0], [b, 1, 1]), [b, 1]), ops.constant(new Float32Array(hidden as number), [1, hidden as number]));
  let h = zeros;
  let c = zeros;
  const outputs: T[] = new Array(len);
  for (let s = 0; s < len; s++) {
    const t = reverse ? len - 1 - s : s;
    const xt = ops.reshape(ops.slice(x, [0, t, 0], [b, 1, inputSize]), [b, inputSize]);
    ({ h, c } = lstmCell(ops, xt, h, c, prefix, suffix));
    outputs[t] = ops.reshape(h, [b, 1, hidden]);
  }
  return ops.concat(outputs, 1);
}

/** Bidirectional LSTM (PyTorch `bidirectional=True`, one layer): [B, L, 2H], forward then backward features. */
export function biLstm<T>(ops: Ops<T>, x: T, prefix: string): T {
  return ops.concat([lstm(ops, x, prefix), lstm(ops, x, prefix, true)], 2);
}
