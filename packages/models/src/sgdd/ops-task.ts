import type { Rng } from '@proj/core';
import type { Ops } from '../ops/ops';
import { delegatedTaskFields, opsTrainTask, type HostBatch, type OpsTrainTask } from '../train-engine/ops-task';
import type { SgddHostBatch, SgddModel } from './model';
import { createSgddTask, type SgddTaskOptions } from './task';

/** A noised SGDD batch as the named host arrays an engine feeds. */
function hostBatch(b: SgddHostBatch, semanticSize: number): HostBatch {
  const [B, L, N] = [b.batch, b.length, b.positions.length];
  return {
    input_ids: { data: b.inputIds, shape: [B, L] },
    attention_mask: { data: b.attentionMask, shape: [B, L] },
    timesteps: { data: b.timesteps, shape: [B] },
    semantic: { data: b.semantic, shape: [B, semanticSize] },
    condition: { data: b.condition, shape: [B] },
    positions: { data: b.positions, shape: [N] },
    targets: { data: b.targets, shape: [N] },
  };
}

/**
 * `createSgddTask` with its loss written at the Ops level (`opsTrainTask`), so `train()` can run
 * the steps on onnxruntime (`createOnnxEngine`) as well as on tfjs: the same batches (drawn from the
 * trainer's `ctx.rng` by `makeSgddBatch`), the same masked-token cross-entropy, the same dev loss.
 */
export function createSgddOpsTask(model: SgddModel, options: SgddTaskOptions): OpsTrainTask {
  const base = createSgddTask(model, options);
  const E = model.config.semantic_size;
  return opsTrainTask({
    ...delegatedTaskFields(base),
    store: model.params,
    inputs: [
      { name: 'input_ids', dtype: 'int32', shape: ['batch', 'seq'] },
      { name: 'attention_mask', dtype: 'int32', shape: ['batch', 'seq'] },
      { name: 'timesteps', dtype: 'int32', shape: ['batch'] },
      { name: 'semantic', dtype: 'float32', shape: ['batch', E] },
      { name: 'condition', dtype: 'float32', shape: ['batch'] },
      { name: 'positions', dtype: 'int32', shape: ['n'] },
      { name: 'targets', dtype: 'int32', shape: ['n'] },
    ],
    batch: async (indices, ctx) => hostBatch(await base.batch(indices, ctx), E),
    loss<T>(ops: Ops<T>, x: Record<string, T>, training?: { rng: Rng }): T {
      const { logits } = model.forward(
        ops,
        { inputIds: x.input_ids, attentionMask: x.attention_mask, timesteps: x.timesteps, semantic: x.semantic, condition: x.condition },
        { positions: x.positions, training },
      );
      return ops.crossEntropy(logits as T, x.targets);
    },
    tokens: (b) => (b.attention_mask.data as Int32Array).reduce((s, v) => s + v, 0),
  });
}
