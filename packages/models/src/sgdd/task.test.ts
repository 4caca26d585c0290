import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { isNoDecayParam, train } from '@proj/trainer';
import { initBackend } from '../backend/init-backend';
import { parseSgddConfig } from './config';
import { SgddModel } from './model';
import { createSgddTask } from './task';
import { TINY_SGDD, toyRows, toyVectors } from './testing';
import { loadSgdd } from './weights';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'sgdd-task-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createSgddTask (reconstruction) under train()', () => {
  it('lowers the dev loss; best/ reloads with loadSgdd to the same dev loss', async () => {
    const model = SgddModel.random(parseSgddConfig(TINY_SGDD), new Rng(1));
    const rows = toyRows(8, new Rng(2));
    const examples = { rows, vectors: toyVectors(rows.length, new Rng(3)) };
    const task = createSgddTask(model, { phase: 'reconstruction', train: examples, dev: examples });
    expect(task.name).toBe('sgdd/reconstruction');
    expect(task.describe()).toMatch(/2 layers, hidden 16, .* parameters; 8 examples/);
    const before = (await task.evaluate!({ epoch: 0, step: 0 })).loss;
    const output = join(dir, 'run');
    const result = await train(
      { epochs: 60, batch_size: 8, optimizer: 'adam', lr: 3e-3, schedule: 'constant', seed: 4, output_dir: output, log_every_steps: 10, eval_every_steps: 15 },
      task,
      { log: null },
    );
    expect(result).toMatchObject({ stopped: 'completed', global_step: 60 });
    const dev = result.history.filter((r) => r.split === 'dev').map((r) => r.loss as number);
    expect(dev).toHaveLength(4);
    expect(Math.min(...dev)).toBeLessThan(0.85 * before);
    expect(result.best_metric).toBe(Math.min(...dev));
    expect(await readdir(join(output, 'best'))).toEqual(expect.arrayContaining(['model.safetensors', 'sgdd_config.json']));
    const reloaded = await loadSgdd(join(output, 'best'));
    const again = createSgddTask(reloaded, { phase: 'reconstruction', train: examples, dev: examples });
    expect((await again.evaluate!({ epoch: 0, step: 0 })).loss).toBeCloseTo(result.best_metric!, 5);
    reloaded.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBeLessThan(50);
  });

  it("AdamW's weight decay skips exactly the biases and LayerNorms (the trainer's name rule fits SGDD's names)", () => {
    const model = SgddModel.random(parseSgddConfig(TINY_SGDD), new Rng(1));
    const noDecay = model.params.names().filter(isNoDecayParam).sort();
    const oneD = model.params.names().filter((n) => model.params.shape(n).length === 1 && n !== 'null_semantic').sort();
    expect(noDecay).toEqual(oneD);
    expect(noDecay).toContain('layers.1.cross_attention_norm.weight');
    model.dispose();
  });

  it('evaluate also scores the dev noise with the null vector: equal when the model cannot see the vector', async () => {
    const model = SgddModel.random(parseSgddConfig(TINY_SGDD), new Rng(1));
    const rows = toyRows(6, new Rng(2));
    const examples = { rows, vectors: toyVectors(rows.length, new Rng(3)) };
    const task = createSgddTask(model, { phase: 'reconstruction', train: examples, dev: examples });
    const seeing = await task.evaluate!({ epoch: 0, step: 0 });
    expect(Math.abs(seeing.loss - seeing.loss_unconditional)).toBeGreaterThan(1e-6);
    // Projection and null vector zeroed: both passes get the same (zero) memory.
    for (const name of ['semantic_projection.weight', 'semantic_projection.bias', 'null_semantic']) model.params.get(name).assign(tf.zerosLike(model.params.get(name)));
    const blind = await task.evaluate!({ epoch: 0, step: 0 });
    expect(blind.loss_unconditional).toBeCloseTo(blind.loss, 6);
    model.dispose();
  });

  it('group_by_length: rows of like length share a batch, so the batches pad less', async () => {
    const model = SgddModel.random(parseSgddConfig(TINY_SGDD), new Rng(1));
    // Lengths 3 to 12 tokens (max_length), in random order.
    const rows = new Rng(5).shuffle(Array.from({ length: 32 }, (_, i) => Int32Array.from([2, ...Array.from({ length: 1 + (i % 10) }, (_, j) => 4 + ((i + j) % 16)), 3])));
    const examples = { rows, vectors: toyVectors(rows.length, new Rng(3)) };
    const padded = async (group: boolean) => {
      const task = createSgddTask(model, { phase: 'reconstruction', train: examples });
      expect(rows.map((_, i) => task.exampleLength!(i))).toEqual(rows.map((r) => r.length));
      let [slots, tokens] = [0, 0];
      const batch = task.batch.bind(task);
      task.batch = async (indices, ctx) => {
        const b = await batch(indices, ctx);
        [slots, tokens] = [slots + b.batch * b.length, tokens + b.attentionMask.reduce((x, y) => x + y, 0)];
        return b;
      };
      await train({ epochs: 1, batch_size: 4, optimizer: 'adam', lr: 1e-3, seed: 6, group_by_length: group, output_dir: join(dir, `group-${group}`) }, task, { log: null });
      expect(tokens).toBe(rows.reduce((x, r) => x + r.length, 0));
      return slots - tokens;
    };
    const [grouped, shuffled] = [await padded(true), await padded(false)];
    // One window holds all 8 batches, sorted: 12 12 12 11 | 11 11 10 10 | 10 9 9 9 | 8 8 8 7 | 7 7 6 6 | 6 5 5 5 | 4 4 4 4 | 3 3 3 3.
    expect(grouped).toBe(12);
    expect(shuffled).toBeGreaterThan(3 * grouped);
    model.dispose();
  });

  it('rejects rows and vectors of different counts', () => {
    const model = SgddModel.random(parseSgddConfig(TINY_SGDD), new Rng(1));
    expect(() => createSgddTask(model, { phase: 'paraphrase', train: { rows: toyRows(2, new Rng(1)), vectors: [] } })).toThrow(/createSgddTask: train has 2 rows but 0 vectors/);
    model.dispose();
  });
});
