import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../test/mlp-task';
import { Ema } from './ema';

beforeAll(useCpuBackend);

function setup() {
  const p = tf.tidy(() => tf.variable(tf.tensor1d([0, 10])));
  return { p, params: new Map([['p', p]]) };
}
const values = (t: tf.Tensor) => Array.from(t.dataSync());

describe('Ema', () => {
  it('shadow ← d·shadow + (1−d)·p after each update; swapIn/swapOut exchange the weights', () => {
    const { p, params } = setup();
    const ema = new Ema(params, 0.5);
    p.assign(tf.tensor1d([4, 2])); // shadow stays [0, 10] until update
    ema.update(); // 0.5*[0,10] + 0.5*[4,2] = [2, 6]
    p.assign(tf.tensor1d([6, 6]));
    ema.update(); // 0.5*[2,6] + 0.5*[6,6] = [4, 6]
    ema.swapIn();
    expect(values(p)).toEqual([4, 6]);
    expect(() => ema.update()).toThrow(/Ema.update: called while the averages are swapped in/);
    expect(() => ema.swapIn()).toThrow(/already swapped in/);
    ema.swapOut();
    expect(values(p)).toEqual([6, 6]);
    expect(() => ema.swapOut()).toThrow(/not swapped in/);
    ema.dispose();
    p.dispose();
  });

  it('warmup uses min(decay, (1+t)/(10+t))', () => {
    const { p, params } = setup();
    const ema = new Ema(params, 0.99, true);
    expect(ema.currentDecay()).toBeCloseTo(0.1, 12); // t = 0
    ema.update();
    expect(ema.currentDecay()).toBeCloseTo(2 / 11, 12);
    expect(new Ema(params, 0.05, true).currentDecay()).toBe(0.05); // the cap
    ema.dispose();
    p.dispose();
  });

  it('export / import restores averages and the update count; shapes are checked', () => {
    const { p, params } = setup();
    const ema = new Ema(params, 0.9, true);
    p.assign(tf.tensor1d([1, 1]));
    ema.update();
    const saved = ema.exportState();
    expect(saved.updates).toBe(1);
    const other = new Ema(params, 0.9, true);
    other.importState(saved);
    expect(other.currentDecay()).toBeCloseTo(ema.currentDecay(), 12);
    other.swapIn();
    expect(values(p)).toEqual(Array.from(saved.shadow.get('p')!.data));
    other.swapOut();
    expect(() => other.importState({ updates: 0, shadow: new Map([['p', { shape: [3], data: new Float32Array(3) }]]) })).toThrow(
      /Ema.importState: "p" has shape \[3\] but the parameter has \[2\]/,
    );
    expect(() => other.importState({ updates: 0, shadow: new Map() })).toThrow(/no average for parameter "p"/);
    ema.dispose();
    other.dispose();
    p.dispose();
  });

  it('rejects a decay outside (0, 1) and leaks no tensors', () => {
    const { p, params } = setup();
    expect(() => new Ema(params, 1)).toThrow(/Ema: decay must be in \(0, 1\), got 1/);
    const before = tf.memory().numTensors;
    const ema = new Ema(params, 0.9);
    ema.update();
    ema.swapIn();
    ema.dispose(); // swaps out first
    expect(values(p)).toEqual([0, 10]);
    expect(tf.memory().numTensors).toBe(before);
    p.dispose();
  });
});
