import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../../test/mlp-task';
import { createAdam } from './adam';
import { createAdamW } from './adamw';
import { isNoDecayParam, type Optimizer } from './optimizer';

// Made by tools/reference/optimizer_fixture.py with torch.optim.AdamW / Adam.
interface Step {
  lr: number;
  grads: Record<'w' | 'b', number[]>;
  params: Record<'w' | 'b', number[]>;
  m: Record<'w' | 'b', number[]>;
  v: Record<'w' | 'b', number[]>;
}
interface Case {
  name: string;
  optimizer: 'adamw' | 'adam';
  beta1: number;
  beta2: number;
  eps: number;
  weight_decay: number;
  shapes: Record<'w' | 'b', number[]>;
  init: Record<'w' | 'b', number[]>;
  steps: Step[];
}
const fixture = JSON.parse(readFileSync(new URL('../../test/fixtures/optimizer-torch.json', import.meta.url), 'utf8')) as { cases: Case[] };

// torch's "w" is decayed and "b" sits in a weight_decay=0 group: our default predicate must agree.
const NAMES = { w: 'linear.weight', b: 'linear.bias' } as const;

function setup(c: Case): { params: Map<string, tf.Variable>; opt: Optimizer } {
  const params = new Map<string, tf.Variable>(
    (['w', 'b'] as const).map((k) => [NAMES[k], tf.variable(tf.tensor(c.init[k], c.shapes[k], 'float32'))]),
  );
  const common = { beta1: c.beta1, beta2: c.beta2, eps: c.eps };
  const opt = c.optimizer === 'adamw' ? createAdamW(params, { ...common, weightDecay: c.weight_decay }) : createAdam(params, common);
  return { params, opt };
}

function applyStep(c: Case, opt: Optimizer, s: Step): void {
  const grads = new Map((['w', 'b'] as const).map((k) => [NAMES[k], tf.tensor(s.grads[k], c.shapes[k], 'float32')]));
  opt.apply(grads, s.lr);
  tf.dispose([...grads.values()]);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

beforeAll(useCpuBackend);

describe('AdamW / Adam against torch.optim', () => {
  it('the fixture has the three cases', () => {
    expect(fixture.cases.map((c) => c.name)).toEqual(['adamw-default-betas', 'adamw-gpt-betas', 'adam']);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s: params and moments match torch within 1e-6 after each of 3 steps', (_name, c) => {
    const { params, opt } = setup(c);
    c.steps.forEach((s, i) => {
      applyStep(c, opt, s);
      expect(opt.step).toBe(i + 1);
      const state = opt.exportState();
      for (const k of ['w', 'b'] as const) {
        expect(maxAbsDiff(params.get(NAMES[k])!.dataSync(), s.params[k]), `${c.name} step ${i + 1} ${k}`).toBeLessThan(1e-6);
        expect(maxAbsDiff(state.slots.get(`m.${NAMES[k]}`)!.data, s.m[k])).toBeLessThan(1e-6);
        expect(maxAbsDiff(state.slots.get(`v.${NAMES[k]}`)!.data, s.v[k])).toBeLessThan(1e-6);
      }
    });
    opt.dispose();
    tf.dispose([...params.values()]);
  });

  it('AdamW differs from Adam only by the decay of decayed parameters', () => {
    const c = fixture.cases[0];
    const a = setup(c);
    const b = setup({ ...c, optimizer: 'adam' });
    applyStep(c, a.opt, c.steps[0]);
    applyStep(c, b.opt, c.steps[0]);
    // The bias is excluded from decay: identical. The weight: smaller by lr * wd * p0.
    expect(maxAbsDiff(a.params.get(NAMES.b)!.dataSync(), b.params.get(NAMES.b)!.dataSync())).toBe(0);
    const expected = Float32Array.from(b.params.get(NAMES.w)!.dataSync(), (v, i) => v - c.steps[0].lr * c.weight_decay * c.init.w[i]);
    expect(maxAbsDiff(a.params.get(NAMES.w)!.dataSync(), expected)).toBeLessThan(1e-7);
    for (const x of [a, b]) {
      x.opt.dispose();
      tf.dispose([...x.params.values()]);
    }
  });

  it.each(['adamw', 'adam'] as const)('%s with lrScale: each parameter steps exactly as the unscaled optimizer at lr · its scale (decay included)', (kind) => {
    const c = { ...fixture.cases[0], optimizer: kind };
    const scaled = setup(c);
    scaled.opt.dispose();
    const make = (params: Map<string, tf.Variable>, lrScale?: (name: string) => number) =>
      kind === 'adamw' ? createAdamW(params, { weightDecay: c.weight_decay, lrScale }) : createAdam(params, { lrScale });
    const scales: Record<string, number> = { [NAMES.w]: 7, [NAMES.b]: 0.25 };
    const opt = make(scaled.params, (name) => scales[name]);
    // One unscaled optimizer per parameter, each fed lr · scale.
    const alone = Object.values(NAMES).map((name) => {
      const params = new Map([[name, tf.variable(tf.clone(scaled.params.get(name)!))]]);
      return { name, params, opt: make(params) };
    });
    for (const s of c.steps) {
      const grads = new Map((['w', 'b'] as const).map((k) => [NAMES[k], tf.tensor(s.grads[k], c.shapes[k], 'float32')]));
      opt.apply(grads, s.lr);
      for (const a of alone) a.opt.apply(new Map([[a.name, grads.get(a.name)!]]), s.lr * scales[a.name]);
      tf.dispose([...grads.values()]);
    }
    for (const a of alone) {
      expect(Array.from(scaled.params.get(a.name)!.dataSync()), a.name).toEqual(Array.from(a.params.get(a.name)!.dataSync()));
      // and the scale made a difference
      const unscaled = setup(c);
      c.steps.forEach((s) => applyStep(c, unscaled.opt, s));
      expect(maxAbsDiff(unscaled.params.get(a.name)!.dataSync(), a.params.get(a.name)!.dataSync())).toBeGreaterThan(1e-4);
      unscaled.opt.dispose();
      tf.dispose([...unscaled.params.values()]);
      a.opt.dispose();
      tf.dispose([...a.params.values()]);
    }
    opt.dispose();
    tf.dispose([...scaled.params.values()]);
  });

  it('rejects an lrScale that is not a finite number > 0, naming the parameter', () => {
    const params = new Map([['w', tf.variable(tf.zeros([2]))]]);
    const g = tf.ones([2]);
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const opt = createAdamW(params, { lrScale: () => bad });
      expect(() => opt.apply(new Map([['w', g]]), 0.1)).toThrow(new RegExp(`adamw: options.lrScale\\("w"\\) must be a finite number > 0, got ${bad}`));
      opt.dispose();
    }
    tf.dispose([g, ...params.values()]);
  });

  it('export / import of the state continues bit for bit', () => {
    const c = fixture.cases[1];
    const straight = setup(c);
    c.steps.forEach((s) => applyStep(c, straight.opt, s));

    const first = setup(c);
    applyStep(c, first.opt, c.steps[0]);
    const saved = first.opt.exportState();
    const weights = new Map([...first.params].map(([n, v]) => [n, tf.clone(v)]));
    const second = setup(c);
    for (const [n, v] of second.params) v.assign(weights.get(n)!);
    second.opt.importState(saved);
    expect(second.opt.step).toBe(1);
    c.steps.slice(1).forEach((s) => applyStep(c, second.opt, s));
    for (const name of Object.values(NAMES)) {
      expect(Array.from(second.params.get(name)!.dataSync())).toEqual(Array.from(straight.params.get(name)!.dataSync()));
    }
    for (const x of [straight, first, second]) {
      x.opt.dispose();
      tf.dispose([...x.params.values()]);
    }
    tf.dispose([...weights.values()]);
  });

  it('leaves parameters without a gradient alone and creates no state for them', () => {
    const c = fixture.cases[0];
    const { params, opt } = setup(c);
    const before = params.get(NAMES.w)!.dataSync().slice();
    const g = tf.ones([3]);
    opt.apply(new Map([[NAMES.b, g]]), 0.1);
    expect(Array.from(params.get(NAMES.w)!.dataSync())).toEqual(Array.from(before));
    expect([...opt.exportState().slots.keys()]).toEqual([`m.${NAMES.b}`, `v.${NAMES.b}`]);
    g.dispose();
    opt.dispose();
    tf.dispose([...params.values()]);
  });

  it('rejects bad options and states, naming them', () => {
    const params = new Map([['w', tf.variable(tf.zeros([2]))]]);
    expect(() => createAdamW(params, { beta1: 1 })).toThrow(/adamw: options.beta1 out of range, got 1/);
    expect(() => createAdamW(params, { eps: 0 })).toThrow(/options.eps out of range, got 0/);
    const opt = createAdamW(params);
    expect(() => opt.apply(new Map([['nope', tf.zeros([2])]]), 0.1)).toThrow(/adamw.apply: unknown parameter "nope"/);
    expect(() => opt.importState({ kind: 'adam', step: 1, slots: new Map() })).toThrow(/state is from optimizer "adam"/);
    expect(() => opt.importState({ kind: 'adamw', step: 1, slots: new Map([['m.w', { shape: [3], data: new Float32Array(3) }]]) })).toThrow(
      /slot "m.w" has shape \[3\] but the parameter has \[2\]/,
    );
    opt.dispose();
    tf.dispose([...params.values()]);
  });
});

describe('isNoDecayParam', () => {
  it.each([
    ['encoder.layer.0.attention.self.query.bias', true],
    ['encoder.layer.0.attention.output.LayerNorm.weight', true],
    ['transformer.h.0.ln_1.weight', true],
    ['transformer.ln_f.weight', true],
    ['model.layers.0.input_layernorm.weight', true],
    ['decoder.norm.weight', true],
    ['encoder.layer.0.attention.self.query.weight', false],
    ['embeddings.word_embeddings.weight', false],
    ['lm_head.weight', false],
    ['biased_proj.weight', false],
  ])('%s → %s', (name, excluded) => {
    expect(isNoDecayParam(name)).toBe(excluded);
  });
});
