import type { Ops } from '../ops/ops';
import { delegatedTaskFields, opsTrainTask, type OpsTrainTask } from '../train-engine/ops-task';
import type { CausalLm } from './model';
import { createCausalLmTask, windowArrays, type CausalLmTaskOptions } from './task';

/**
 * `createCausalLmTask` with its loss written at the Ops level (`opsTrainTask`), so `train()` can run
 * pretraining on onnxruntime (`createOnnxEngine`) as well as on tfjs: the same windows, the same
 * loss (`CausalLm.loss`: next-token cross-entropy, plus the load-balancing term for a MoE model),
 * the same dev metrics, and for a MoE model the same training metrics (`lm_loss`, `aux_loss`,
 * `max_expert_load`, from the loss's forward pass on either engine). Inputs `input_ids` and
 * `targets`, [batch, seqLen] int32.
 */
export function createCausalLmOpsTask(model: CausalLm, options: CausalLmTaskOptions): OpsTrainTask {
  const base = createCausalLmTask(model, options);
  const { seqLen } = options;
  return opsTrainTask({
    ...delegatedTaskFields(base),
    store: model.params,
    inputs: [
      { name: 'input_ids', dtype: 'int32', shape: ['batch', seqLen] },
      { name: 'targets', dtype: 'int32', shape: ['batch', seqLen] },
    ],
    batch: async (indices) => {
      const { inputs, targets } = await windowArrays(options.train, indices, seqLen);
      return { input_ids: { data: inputs, shape: [indices.length, seqLen] }, targets: { data: targets, shape: [indices.length, seqLen] } };
    },
    loss: <T>(ops: Ops<T>, x: Record<string, T>): T => model.loss(ops, x.input_ids, x.targets),
    ...(model.config.use_moe && {
      trainMetrics: { names: model.trainMetricNames, lossAndMetrics: <T>(ops: Ops<T>, x: Record<string, T>) => model.lossAndMetrics(ops, x.input_ids, x.targets) },
    }),
    tokens: (b) => b.input_ids.data.length,
  });
}
