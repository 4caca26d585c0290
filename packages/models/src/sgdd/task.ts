import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import type { StepContext, TrainTask } from '@proj/trainer';
import { TfOps } from '../ops/tf-ops';
import { makeSgddBatch } from './batch';
import type { SgddHostBatch, SgddModel } from './model';
import { loadSgddWeights, saveSgdd } from './weights';

/** Examples of one phase: the sentence to produce (ids, [CLS] ... [SEP]) and the vector it is conditioned on. */
export interface SgddExamples {
  rows: readonly Int32Array[];
  /** Frozen-encoder vectors: of the same sentence (reconstruction) or of its paraphrase source. */
  vectors: readonly Float32Array[];
}

export interface SgddTaskOptions {
  /** 'reconstruction' (sentence → vector → same sentence) or 'paraphrase' (A's vector → B). Names the task. */
  phase: 'reconstruction' | 'paraphrase';
  train: SgddExamples;
  /** Held-out examples for `evaluate` ({ loss, loss_unconditional }: masked-token cross-entropy on fixed noise, with the vectors and with the null vector). */
  dev?: SgddExamples;
  /** Seed of the dev noise; the same draws at every evaluation. */
  devSeed?: number;
  /** Rows per dev batch. */
  devBatchSize?: number;
}

function checkExamples(e: SgddExamples, what: string): void {
  if (e.rows.length !== e.vectors.length) throw new RangeError(`createSgddTask: ${what} has ${e.rows.length} rows but ${e.vectors.length} vectors`);
}

/**
 * SGDD training as a `TrainTask` for `train()` of @proj/trainer. Each micro-batch draws its
 * timesteps, masks and classifier-free-guidance drops from the trainer's per-batch `ctx.rng` (so a
 * resumed run draws the same); the loss is `SgddModel.batchLoss`.
 */
export function createSgddTask(model: SgddModel, options: SgddTaskOptions): TrainTask<SgddHostBatch> {
  const { train, dev, devSeed = 1234, devBatchSize = 32 } = options;
  checkExamples(train, 'train');
  if (dev) checkExamples(dev, 'dev');
  const ops = new TfOps(model.params);
  const c = model.config;
  // Dev noise drawn once: every evaluation scores the same masked positions, conditionally.
  const devBatches: SgddHostBatch[] = [];
  if (dev) {
    const rng = new Rng(devSeed);
    for (let i = 0; i < dev.rows.length; i += devBatchSize) {
      devBatches.push(makeSgddBatch(dev.rows.slice(i, i + devBatchSize), dev.vectors.slice(i, i + devBatchSize), { ...c, uncond_prob: 0 }, rng));
    }
  }
  return {
    name: `sgdd/${options.phase}`,
    describe: () =>
      `SGDD decoder (${options.phase}): ${c.num_hidden_layers} layers, hidden ${c.hidden_size}, ${c.num_attention_heads} heads, FFN ${c.intermediate_size}, ` +
      `vocab ${c.vocab_size}, T = ${c.num_timesteps}, ${model.params.count().toLocaleString('en-US')} parameters; ${train.rows.length} examples`,
    params: () => new Map(model.params.names().map((n) => [n, model.params.get(n)])),
    numExamples: () => train.rows.length,
    // Tokens of the row: group_by_length batches rows of like length (less padding per batch).
    exampleLength: (index) => train.rows[index].length,
    batch: (indices: readonly number[], ctx: StepContext) =>
      makeSgddBatch(
        indices.map((i) => train.rows[i]),
        indices.map((i) => train.vectors[i]),
        c,
        ctx.rng,
      ),
    loss: (batch, ctx) => model.batchLoss(ops, batch, { training: { rng: ctx.rng } }) as tf.Scalar,
    tokens: (batch) => batch.attentionMask.reduce((s, v) => s + v, 0),
    ...(dev && {
      evaluate: () => {
        // Mean over all masked dev positions (batches weighted by their masked counts); the same
        // noise with the null vector shows how much the semantic vector is worth.
        let [total, uncond, count] = [0, 0, 0];
        const lossOf = (b: SgddHostBatch) => tf.tidy(() => (model.batchLoss(ops, b) as tf.Scalar).dataSync()[0]) * b.positions.length;
        for (const b of devBatches) {
          total += lossOf(b);
          uncond += lossOf({ ...b, condition: new Float32Array(b.batch) });
          count += b.positions.length;
        }
        return { loss: total / count, loss_unconditional: uncond / count };
      },
    }),
    saveWeights: (dir) => saveSgdd(model, dir),
    loadWeights: (dir) => loadSgddWeights(model, dir),
  };
}
