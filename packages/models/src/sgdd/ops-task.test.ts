import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { train } from '@proj/trainer';
import { initBackend } from '../backend/init-backend';
import { createOnnxEngine } from '../train-engine/onnx-engine';
import { parseSgddConfig } from './config';
import { SgddModel } from './model';
import { createSgddOpsTask } from './ops-task';
import { TINY_SGDD, toyRows, toyVectors } from './testing';

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'sgdd-ops-task-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createSgddOpsTask', () => {
  it('trains the same on onnxruntime as on tfjs: the same losses step by step (1e-3 relative) and a lower dev loss', async () => {
    const rows = toyRows(8, new Rng(2));
    const examples = { rows, vectors: toyVectors(rows.length, new Rng(3)) };
    const run = async (engine: 'tfjs' | 'onnx') => {
      const model = SgddModel.random(parseSgddConfig(TINY_SGDD), new Rng(1));
      const task = createSgddOpsTask(model, { phase: 'reconstruction', train: examples, dev: examples });
      const before = (await task.evaluate!({ epoch: 0, step: 0 })).loss;
      const result = await train(
        { epochs: 8, batch_size: 4, optimizer: 'adam', lr: 1e-2, schedule: 'constant', seed: 4, output_dir: join(dir, engine), log_every_steps: 1, eval_every_steps: 16 },
        task,
        { log: null, engine: engine === 'onnx' ? createOnnxEngine({ executionProviders: ['cpu'], intraOpNumThreads: 1 }) : undefined },
      );
      model.dispose();
      return { before, train: result.history.filter((r) => r.split === 'train').map((r) => r.loss as number), dev: result.best_metric! };
    };
    const [tfjs, onnx] = [await run('tfjs'), await run('onnx')];
    expect(onnx.train).toHaveLength(16);
    onnx.train.forEach((loss, i) => expect(Math.abs(loss - tfjs.train[i]) / tfjs.train[i]).toBeLessThan(1e-3));
    expect(onnx.dev).toBeLessThan(0.9 * onnx.before);
    expect(Math.abs(onnx.dev - tfjs.dev) / tfjs.dev).toBeLessThan(1e-3);
  }, 60_000);
});
