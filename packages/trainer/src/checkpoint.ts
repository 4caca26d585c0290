import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensors, safetensorsToFloat32, writeSafetensors, type SafetensorsTensor } from '@proj/core';
import type { Ema } from './ema';
import type { EarlyStoppingState } from './early-stopping';
import type { HostTensor, Optimizer } from './optimizers/optimizer';
import type { TrainTask } from './task';

/** trainer_state.json: where the loop stands, enough to continue it exactly. */
export interface TrainerState {
  global_step: number; // optimizer steps completed
  epoch: number; // epoch to continue in
  batch_in_epoch: number; // first micro-batch of `epoch` not yet trained on
  rng: number[]; // trainer RNG state at the start of `epoch` (its shuffle is redrawn from it)
  best_metric: number | null; // best value of early_stopping.metric so far (null: none yet)
  best_step: number;
  early_stopping: EarlyStoppingState;
  config_hash: string;
  task: string;
}

export interface CheckpointParts {
  state: TrainerState;
  task: Pick<TrainTask, 'saveWeights' | 'loadWeights'>;
  /** Any engine's optimizer and EMA state (tfjs Variables or onnxruntime's host arrays), in one format. */
  optimizer: Pick<Optimizer, 'exportState' | 'importState'>;
  ema?: Pick<Ema, 'exportState' | 'importState'> | null;
}

const CHECKPOINT_RE = /^checkpoint-(\d+)$/;
let tempCounter = 0;

// JSON has no Infinity: the "no best yet" sentinel is written as null and read back by mode.
function stateToJson(state: TrainerState): string {
  return `${JSON.stringify(state, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`;
}

function toSafetensors(tensors: Map<string, HostTensor>): Array<[string, SafetensorsTensor]> {
  return [...tensors].map(([name, t]) => [name, { dtype: 'F32', shape: t.shape, data: t.data }]);
}

function fromSafetensors(tensors: Map<string, SafetensorsTensor>): Map<string, HostTensor> {
  return new Map([...tensors].map(([name, t]) => [name, { shape: t.shape, data: safetensorsToFloat32(t, name) }]));
}

/** Writes a complete directory under a temp name, then renames it into place (replacing `dir`). */
async function writeDirAtomic(dir: string, fill: (temp: string) => Promise<void>): Promise<void> {
  const temp = `${dir}.tmp-${process.pid}-${tempCounter++}`;
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    await fill(temp);
    // rename() cannot replace a non-empty directory: move the old one aside first.
    const old = `${dir}.old-${process.pid}-${tempCounter++}`;
    const hadOld = await rename(dir, old).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return false;
        throw error;
      },
    );
    await rename(temp, dir);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

async function writeParts(dir: string, parts: CheckpointParts, withOptimizer: boolean): Promise<void> {
  await parts.task.saveWeights(dir);
  await writeFile(join(dir, 'trainer_state.json'), stateToJson(parts.state));
  if (withOptimizer) {
    const opt = parts.optimizer.exportState();
    await writeSafetensors(join(dir, 'optimizer.safetensors'), toSafetensors(opt.slots), { kind: opt.kind, step: String(opt.step) });
    if (parts.ema) {
      const ema = parts.ema.exportState();
      await writeSafetensors(join(dir, 'ema.safetensors'), toSafetensors(ema.shadow), { updates: String(ema.updates) });
    }
  }
}

/** `<runDir>/checkpoint-<step>/`, written atomically; then only the newest `keep` are kept (0 = all). */
export async function saveCheckpoint(runDir: string, parts: CheckpointParts, keep: number): Promise<string> {
  const dir = join(runDir, `checkpoint-${parts.state.global_step}`);
  await writeDirAtomic(dir, (temp) => writeParts(temp, parts, true));
  await pruneCheckpoints(runDir, keep);
  return dir;
}

/**
 * `<runDir>/best/`: the weights that were just evaluated (the EMA averages when EMA is on) and
 * the trainer state; no optimizer state, since best/ is for inference, not for resuming.
 */
export async function saveBest(runDir: string, parts: Omit<CheckpointParts, 'optimizer' | 'ema'>): Promise<string> {
  const dir = join(runDir, 'best');
  await writeDirAtomic(dir, async (temp) => {
    await parts.task.saveWeights(temp);
    await writeFile(join(temp, 'trainer_state.json'), stateToJson(parts.state));
  });
  return dir;
}

/** Checkpoint dirs of a run, oldest first. */
export async function listCheckpoints(runDir: string): Promise<Array<{ step: number; path: string }>> {
  const names = await readdir(runDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names
    .map((name) => CHECKPOINT_RE.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ step: Number(m[1]), path: join(runDir, m[0]) }))
    .sort((a, b) => a.step - b.step);
}

export async function pruneCheckpoints(runDir: string, keep: number): Promise<void> {
  if (keep <= 0) return;
  const all = await listCheckpoints(runDir);
  for (const { path } of all.slice(0, Math.max(0, all.length - keep))) {
    // Renamed out of the checkpoint-<step> namespace first: a kill during the delete leaves a
    // `.deleting-` dir that removeStaleDirs clears, never a half-deleted checkpoint-<step>/.
    const doomed = `${path}.deleting-${process.pid}-${tempCounter++}`;
    await rename(path, doomed);
    await rm(doomed, { recursive: true, force: true });
  }
}

const STALE_RE = /^(.+)\.(tmp|old|deleting)-\d+(?:-\d+)?$/;

/**
 * Clears what a killed run left in `dir` from atomic directory writes and pruning:
 * `<name>.tmp-<pid>[-n]` (a write not yet renamed into place) and `<name>.deleting-…` are removed;
 * `<name>.old-…` (the previous version, moved aside just before the new one is renamed in) is put
 * back when `<name>` is missing (killed between the two renames), else removed. Returns the
 * names it handled. Call it only when no other process writes into `dir`.
 */
export async function removeStaleDirs(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const handled: string[] = [];
  for (const name of names) {
    const m = STALE_RE.exec(name);
    if (m === null) continue;
    const path = join(dir, name);
    if (m[2] === 'old' && !names.includes(m[1])) {
      await rename(path, join(dir, m[1]));
      names.push(m[1]);
    } else await rm(path, { recursive: true, force: true });
    handled.push(name);
  }
  return handled;
}

/** Reads trainer_state.json, restoring the ±Infinity sentinels written as null. */
export async function readTrainerState(dir: string, mode: 'min' | 'max'): Promise<TrainerState> {
  const path = join(dir, 'trainer_state.json');
  let state: TrainerState;
  try {
    state = JSON.parse(await readFile(path, 'utf8')) as TrainerState;
  } catch (error) {
    throw new Error(`readTrainerState: cannot read ${path}: ${(error as Error).message}`);
  }
  for (const field of ['global_step', 'epoch', 'batch_in_epoch'] as const) {
    if (!Number.isInteger(state[field]) || state[field] < 0) throw new RangeError(`readTrainerState: ${path}: ${field} must be an integer >= 0, got ${state[field]}`);
  }
  const none = mode === 'min' ? Infinity : -Infinity;
  state.early_stopping = { ...state.early_stopping, best: state.early_stopping.best ?? none };
  return state;
}

/** Restores weights, optimizer moments and EMA averages in place; returns the trainer state. */
export async function loadCheckpoint(dir: string, parts: Omit<CheckpointParts, 'state'>, mode: 'min' | 'max'): Promise<TrainerState> {
  const state = await readTrainerState(dir, mode);
  await parts.task.loadWeights(dir);
  const opt = await readSafetensors(join(dir, 'optimizer.safetensors'));
  parts.optimizer.importState({ kind: opt.metadata.kind, step: Number(opt.metadata.step), slots: fromSafetensors(opt.tensors) });
  if (parts.ema) {
    const ema = await readSafetensors(join(dir, 'ema.safetensors')).catch((error: Error) => {
      throw new Error(`loadCheckpoint: EMA is on but ${dir} has no readable ema.safetensors (${error.message})`);
    });
    parts.ema.importState({ updates: Number(ema.metadata.updates), shadow: fromSafetensors(ema.tensors) });
  }
  return state;
}

/** `resumeFrom`: a checkpoint dir, or a run dir (its newest checkpoint). */
export async function resolveCheckpoint(path: string): Promise<string> {
  if (CHECKPOINT_RE.test(path.split(/[\\/]/).filter(Boolean).pop() ?? '')) return path;
  const all = await listCheckpoints(path);
  if (all.length === 0) throw new RangeError(`resolveCheckpoint: no checkpoint-<step>/ in ${path}`);
  return all[all.length - 1].path;
}
