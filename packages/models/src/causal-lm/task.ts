import * as tf from '@tensorflow/tfjs-core';
import type { TrainTask } from '@proj/trainer';
import { TfOps } from '../ops/tf-ops';
import { moeLossMetrics, type CausalLm } from './model';
import type { PackedTokens } from './packed-tokens';
import { loadCausalLmWeights, saveCausalLm } from './weights';

export interface CausalLmTaskOptions {
  /** A packed corpus (`prepareLmData`); examples are its windows of `seqLen + 1` tokens. */
  train: PackedTokens;
  /** Tokens per example (the model input length). */
  seqLen: number;
  /** Held-out packed corpus for `evaluate` ({ loss, perplexity } over its first `devWindows` windows). */
  dev?: PackedTokens;
  devWindows?: number;
  devBatchSize?: number;
}

/** One micro-batch: ids [B, seqLen] and next-token targets [B, seqLen]. */
export interface CausalLmBatch {
  inputs: tf.Tensor2D;
  targets: tf.Tensor2D;
}

/** Reads windows `indices` of `data` into input and target ids, [indices.length × seqLen] row-major each. */
export async function windowArrays(data: PackedTokens, indices: readonly number[], seqLen: number): Promise<{ inputs: Int32Array; targets: Int32Array }> {
  const inputs = new Int32Array(indices.length * seqLen);
  const targets = new Int32Array(indices.length * seqLen);
  for (const [row, index] of indices.entries()) {
    const window = await data.window(index, seqLen);
    inputs.set(window.subarray(0, seqLen), row * seqLen);
    targets.set(window.subarray(1), row * seqLen);
  }
  return { inputs, targets };
}

/** Reads windows `indices` of `data` into input and target tensors. */
async function windowBatch(data: PackedTokens, indices: readonly number[], seqLen: number): Promise<CausalLmBatch> {
  const { inputs, targets } = await windowArrays(data, indices, seqLen);
  return { inputs: tf.tensor2d(inputs, [indices.length, seqLen], 'int32'), targets: tf.tensor2d(targets, [indices.length, seqLen], 'int32') };
}

/**
 * Pretraining as a `TrainTask` for `train()` of @proj/trainer: example i is window i of the packed
 * corpus (fixed `seqLen + 1` tokens across document boundaries, read from the file on demand), the
 * loss is the mean next-token cross-entropy of `CausalLm.loss`. A MoE model's training steps also
 * log `lm_loss`, `aux_loss` and `max_expert_load` (`trainMetrics`, `CausalLm.lossAndMetrics`).
 */
export function createCausalLmTask(model: CausalLm, options: CausalLmTaskOptions): TrainTask<CausalLmBatch> {
  const { train, seqLen, dev, devBatchSize = 16 } = options;
  const numWindows = train.numWindows(seqLen);
  if (numWindows === 0) throw new RangeError(`createCausalLmTask: the corpus has ${train.numTokens} tokens, fewer than seqLen + 1 = ${seqLen + 1}`);
  if (seqLen > model.config.max_position_embeddings) throw new RangeError(`createCausalLmTask: seqLen ${seqLen} > max_position_embeddings ${model.config.max_position_embeddings}`);
  const devCount = dev ? Math.min(options.devWindows ?? 256, dev.numWindows(seqLen)) : 0;
  if (dev && devCount === 0) throw new RangeError(`createCausalLmTask: the dev corpus has ${dev.numTokens} tokens, fewer than seqLen + 1 = ${seqLen + 1}`);
  const ops = new TfOps(model.params);
  const c = model.config;
  return {
    name: 'causal-lm/pretrain',
    describe: () =>
      `causal LM: ${c.num_hidden_layers} layers, hidden ${c.hidden_size}, ${c.num_attention_heads} heads / ${c.num_key_value_heads} KV heads, ` +
      (c.use_moe ? `MoE ${c.num_experts} experts top-${c.num_experts_per_tok} + ${c.n_shared_experts} shared of SwiGLU ${c.moe_intermediate_size}, ` : `SwiGLU ${c.intermediate_size}, `) +
      `vocab ${c.vocab_size}, ${model.parameterCount().toLocaleString('en-US')} parameters; ${numWindows.toLocaleString('en-US')} windows of ${seqLen} tokens`,
    params: () => new Map(model.params.names().map((n) => [n, model.params.get(n)])),
    numExamples: () => numWindows,
    batch: (indices) => windowBatch(train, indices, seqLen),
    loss: (batch) => model.loss(ops, batch.inputs, batch.targets) as tf.Scalar,
    ...(c.use_moe && {
      trainMetrics: {
        names: model.trainMetricNames,
        lossAndMetrics: (batch: CausalLmBatch) => model.lossAndMetrics(ops, batch.inputs, batch.targets) as { loss: tf.Scalar; metrics: Record<string, tf.Scalar> },
      },
    }),
    tokens: (batch) => batch.inputs.size,
    ...(dev && {
      evaluate: async () => {
        // Loss and perplexity of the LM term alone; a MoE model adds its balance loss and the
        // largest share of routing slots any expert got (mean over blocks; 1 / num_experts is even).
        let [total, aux, maxLoad] = [0, 0, 0];
        for (let start = 0; start < devCount; start += devBatchSize) {
          const indices = Array.from({ length: Math.min(devBatchSize, devCount - start) }, (_, k) => start + k);
          const batch = await windowBatch(dev, indices, seqLen);
          const [lm, a, load] = tf.tidy(() => {
            const terms = model.lossTerms(ops, batch.inputs, batch.targets);
            const max = c.use_moe ? moeLossMetrics(ops, terms).max_expert_load.dataSync()[0] : 0;
            return [terms.lm.dataSync()[0], terms.aux.dataSync()[0], max];
          });
          [total, aux, maxLoad] = [total + lm * indices.length, aux + a * indices.length, maxLoad + load * indices.length];
          tf.dispose([batch.inputs, batch.targets]);
        }
        const loss = total / devCount;
        return { loss, perplexity: Math.exp(loss), ...(c.use_moe && { aux_loss: aux / devCount, max_expert_load: maxLoad / devCount }) };
      },
    }),
    saveWeights: (dir) => saveCausalLm(model, dir),
    loadWeights: (dir) => loadCausalLmWeights(model, dir),
  };
}
