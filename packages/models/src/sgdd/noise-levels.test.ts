import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { parseSgddConfig } from './config';
import { SgddModel } from './model';
import { scoreNoiseLevels } from './noise-levels';
import { maskProbability } from './schedule';
import { TINY_SGDD, toyRows, toyVectors, trainSteps } from './testing';

const config = parseSgddConfig({ ...TINY_SGDD, initializer_range: 0.2 });
let model: SgddModel;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = SgddModel.random(config, new Rng(1));
});
afterAll(() => model.dispose());

const rows = toyRows(9, new Rng(2));
const vectors = toyVectors(9, new Rng(3));
const inner = rows.reduce((s, r) => s + r.length - 2, 0); // every token but [CLS] / [SEP]

describe('scoreNoiseLevels', () => {
  it('at fraction 1 every inner token is masked: the loss is batchLoss at t = T and the accuracy the argmax hit rate of the full logits', () => {
    const [all] = scoreNoiseLevels(model, { rows, vectors }, [1], { batchSize: 4 });
    expect(all.timestep).toBe(config.num_timesteps);
    expect(all.mask_probability).toBe(1);
    expect(all.tokens).toBe(inner);
    const L = Math.max(...rows.map((r) => r.length));
    const B = rows.length;
    const inputIds = new Int32Array(B * L);
    const attentionMask = new Int32Array(B * L);
    const [positions, targets] = [[] as number[], [] as number[]];
    rows.forEach((r, b) =>
      r.forEach((id, i) => {
        const inside = i > 0 && i < r.length - 1;
        inputIds[b * L + i] = inside ? config.mask_token_id : id;
        attentionMask[b * L + i] = 1;
        if (!inside) return;
        positions.push(b * L + i);
        targets.push(id);
      }),
    );
    const semantic = new Float32Array(B * config.semantic_size);
    vectors.forEach((v, b) => semantic.set(v, b * config.semantic_size));
    const batch = { batch: B, length: L, inputIds, attentionMask, labels: new Int32Array(B * L), positions: Int32Array.from(positions), targets: Int32Array.from(targets), timesteps: new Int32Array(B).fill(config.num_timesteps), semantic, condition: new Float32Array(B).fill(1) };
    const ops = new TfOps(model.params);
    const want = tf.tidy(() => (model.batchLoss(ops, batch) as tf.Scalar).dataSync()[0]);
    expect(all.loss).toBeCloseTo(want, 5);
    const hits = tf.tidy(() => {
      const { logits } = model.forward(
        ops,
        { inputIds: tf.tensor2d(inputIds, [B, L], 'int32'), attentionMask: tf.tensor2d(attentionMask, [B, L], 'int32'), timesteps: tf.tensor1d(batch.timesteps, 'int32'), semantic: tf.tensor2d(semantic, [B, config.semantic_size]), condition: tf.ones([B]) },
        { positions: tf.tensor1d(positions, 'int32') },
      );
      const rowsOf = logits!.arraySync() as number[][];
      return rowsOf.filter((row, k) => row.indexOf(Math.max(...row)) === targets[k]).length;
    });
    expect(all.accuracy).toBeCloseTo(hits / inner, 10);
  });

  it('the nearest training timestep per fraction; the same seed gives the same scores at any batch size; another seed other masks', () => {
    const fractions = [0.1, 0.5, 0.9];
    const a = scoreNoiseLevels(model, { rows, vectors }, fractions, { seed: 7, batchSize: 2 });
    const b = scoreNoiseLevels(model, { rows, vectors }, fractions, { seed: 7, batchSize: 32 });
    a.forEach((level, k) => {
      expect(Math.abs(level.mask_probability - fractions[k])).toBeLessThan(0.02);
      expect(maskProbability(level.timestep, config.num_timesteps)).toBe(level.mask_probability);
      expect(level.tokens).toBe(b[k].tokens);
      expect(level.loss).toBeCloseTo(b[k].loss, 5);
    });
    expect(a[0].tokens).toBeLessThan(a[2].tokens);
    const other = scoreNoiseLevels(model, { rows, vectors }, fractions, { seed: 8 });
    expect(other.map((l) => l.loss)).not.toEqual(a.map((l) => l.loss));
  });

  it('on rows whose tokens their neighbours give away (one token repeated) and a vector that says nothing, a trained decoder is far better at low noise than at full noise', () => {
    const r = new Rng(6);
    const repeated = Array.from({ length: 24 }, () => Int32Array.from([2, ...new Array(6).fill(4 + r.int(16)), 3]));
    const blank = repeated.map(() => new Float32Array(config.semantic_size));
    const m = SgddModel.random(config, new Rng(4));
    trainSteps(m, repeated, blank, { steps: 40, learningRate: 1e-2, seed: 5 });
    const [low, full] = scoreNoiseLevels(m, { rows: repeated, vectors: blank }, [0.2, 1]);
    // Fully masked, the row's token is a guess among 16 (ln 16 = 2.77); with neighbours in view it is known.
    expect(full.loss).toBeGreaterThan(2);
    expect(low.loss).toBeLessThan(0.75 * full.loss);
    expect(low.accuracy).toBeGreaterThan(full.accuracy + 0.2);
    m.dispose();
  });

  it('refuses a fraction outside (0, 1] and rows without vectors', () => {
    expect(() => scoreNoiseLevels(model, { rows, vectors }, [0])).toThrow(/fraction must be in \(0, 1\], got 0/);
    expect(() => scoreNoiseLevels(model, { rows, vectors: vectors.slice(1) }, [0.5])).toThrow(/9 rows but 8 vectors/);
  });
});
