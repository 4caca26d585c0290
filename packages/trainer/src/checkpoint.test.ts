import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useCpuBackend } from '../test/mlp-task';
import { listCheckpoints, loadCheckpoint, pruneCheckpoints, readTrainerState, removeStaleDirs, resolveCheckpoint, saveBest, saveCheckpoint, type TrainerState } from './checkpoint';
import { createAdamW } from './optimizers/adamw';

const tmp = mkdtempSync(join(tmpdir(), 'trainer-ckpt-'));
beforeAll(useCpuBackend);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const state = (step: number): TrainerState => ({
  global_step: step,
  epoch: 1,
  batch_in_epoch: 2,
  rng: [1, 2, 3, 4],
  best_metric: null,
  best_step: -1,
  early_stopping: { best: Infinity, best_step: -1, bad_evals: 0 },
  config_hash: 'abc',
  task: 't',
});
const fakeTask = (onSave?: (dir: string) => void) => ({
  saveWeights: async (dir: string) => {
    writeFileSync(join(dir, 'model.safetensors'), 'weights');
    onSave?.(dir);
  },
  loadWeights: async () => {},
});

describe('checkpoints', () => {
  it('saves into checkpoint-<step>/, prunes to the newest N and lists them in step order', async () => {
    const run = join(tmp, 'prune');
    const p = tf.tidy(() => tf.variable(tf.ones([2])));
    const optimizer = createAdamW(new Map([['w', p]]));
    for (const step of [2, 10, 4, 6]) await saveCheckpoint(run, { state: state(step), task: fakeTask(), optimizer }, 0);
    expect((await listCheckpoints(run)).map((c) => c.step)).toEqual([2, 4, 6, 10]); // numeric, not lexicographic
    await pruneCheckpoints(run, 2);
    expect(readdirSync(run).sort()).toEqual(['checkpoint-10', 'checkpoint-6']);
    expect(await resolveCheckpoint(run)).toBe(join(run, 'checkpoint-10'));
    expect(await resolveCheckpoint(join(run, 'checkpoint-6'))).toBe(join(run, 'checkpoint-6'));
    await expect(resolveCheckpoint(join(tmp, 'nothing'))).rejects.toThrow(/resolveCheckpoint: no checkpoint-<step>\/ in/);
    optimizer.dispose();
    p.dispose();
  });

  it('removeStaleDirs clears what a kill left: temp and half-deleted dirs go, a version moved aside comes back when its dir is gone', async () => {
    const run = join(tmp, 'stale');
    for (const name of ['checkpoint-4', 'checkpoint-6.tmp-123-0', 'checkpoint-2.deleting-123-1', 'best.old-123-2', 'final.tmp-77', 'checkpoint-4.old-5-3', 'notes.tmp']) {
      mkdirSync(join(run, name), { recursive: true });
    }
    writeFileSync(join(run, 'best.old-123-2', 'trainer_state.json'), '{}');
    expect((await removeStaleDirs(run)).sort()).toEqual(['best.old-123-2', 'checkpoint-2.deleting-123-1', 'checkpoint-4.old-5-3', 'checkpoint-6.tmp-123-0', 'final.tmp-77']);
    expect(readdirSync(run).sort()).toEqual(['best', 'checkpoint-4', 'notes.tmp']);
    expect(existsSync(join(run, 'best', 'trainer_state.json'))).toBe(true);
    expect(await removeStaleDirs(join(tmp, 'no-such-run'))).toEqual([]);
  });

  it('writes atomically: a failure while writing leaves the previous checkpoint intact and no temp dir', async () => {
    const run = join(tmp, 'atomic');
    const p = tf.tidy(() => tf.variable(tf.ones([2])));
    const optimizer = createAdamW(new Map([['w', p]]));
    await saveCheckpoint(run, { state: state(3), task: fakeTask(), optimizer }, 0);
    const failing = fakeTask(() => {
      throw new Error('disk full');
    });
    await expect(saveCheckpoint(run, { state: { ...state(3), epoch: 9 }, task: failing, optimizer }, 0)).rejects.toThrow('disk full');
    expect(readdirSync(run)).toEqual(['checkpoint-3']);
    expect((await readTrainerState(join(run, 'checkpoint-3'), 'min')).epoch).toBe(1);
    // Saving the same step again replaces it.
    await saveCheckpoint(run, { state: { ...state(3), epoch: 2 }, task: fakeTask(), optimizer }, 0);
    expect((await readTrainerState(join(run, 'checkpoint-3'), 'min')).epoch).toBe(2);
    expect(readdirSync(run)).toEqual(['checkpoint-3']);
    optimizer.dispose();
    p.dispose();
  });

  it('trainer_state.json writes ±Infinity as null and reads it back by mode', async () => {
    const run = join(tmp, 'inf');
    const dir = await saveBest(run, { state: state(1), task: fakeTask() });
    expect(JSON.parse(readFileSync(join(dir, 'trainer_state.json'), 'utf8')).early_stopping.best).toBeNull();
    expect((await readTrainerState(dir, 'min')).early_stopping.best).toBe(Infinity);
    expect((await readTrainerState(dir, 'max')).early_stopping.best).toBe(-Infinity);
    expect(existsSync(join(dir, 'optimizer.safetensors'))).toBe(false); // best/ is for inference
  });

  it('restores optimizer moments, and names what is missing or malformed', async () => {
    const run = join(tmp, 'load');
    const p = tf.tidy(() => tf.variable(tf.ones([2])));
    const params = new Map([['w', p]]);
    const optimizer = createAdamW(params);
    const g = tf.tensor1d([0.5, -1]);
    optimizer.apply(new Map([['w', g]]), 0.1);
    const dir = await saveCheckpoint(run, { state: state(1), task: fakeTask(), optimizer }, 0);
    const fresh = createAdamW(params);
    const restored = await loadCheckpoint(dir, { task: fakeTask(), optimizer: fresh }, 'min');
    expect(restored.global_step).toBe(1);
    expect(fresh.step).toBe(1);
    expect(Array.from(fresh.exportState().slots.get('v.w')!.data)).toEqual(Array.from(optimizer.exportState().slots.get('v.w')!.data));

    mkdirSync(join(run, 'broken'));
    writeFileSync(join(run, 'broken', 'trainer_state.json'), JSON.stringify({ ...state(1), batch_in_epoch: -1 }));
    await expect(readTrainerState(join(run, 'broken'), 'min')).rejects.toThrow(/batch_in_epoch must be an integer >= 0, got -1/);
    await expect(readTrainerState(join(run, 'nope'), 'min')).rejects.toThrow(/readTrainerState: cannot read .*nope\/trainer_state.json/);
    g.dispose();
    optimizer.dispose();
    fresh.dispose();
    p.dispose();
  });
});
