import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@proj/core';
import { train, type TrainConfigInput } from '@proj/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TINY_BERT, tinyBertBatch } from '../autodiff/testing';
import { BertForMaskedLM } from '../bert/model';
import { readParameterFile, writeParameterFile } from '../ops/parameter-file';
import { createOnnxEngine } from './onnx-engine';
import { opsTrainTask } from './ops-task';

const tmp = mkdtempSync(join(tmpdir(), 'onnx-prefetch-'));
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/**
 * A tiny BERT MLM with dropout whose batch() draws its tokens from ctx.rng and, with `readsWeights`,
 * takes one label from the current word embeddings (as scheduled sampling reads the model), so a
 * batch built ahead on stale weights trains differently. `ahead` records, per batch() call, whether
 * the engine built it ahead (during the microStep of another micro-batch; `current` tracks it).
 */
function probeTask(readsWeights: boolean, awaitsWeights: boolean, ahead: boolean[], current: { batchIndex: number | null }) {
  const model = BertForMaskedLM.random({ ...TINY_BERT, hiddenDropoutProb: 0.1, attentionProbsDropoutProb: 0.1 }, new Rng(3));
  const table = model.params.names().find((n) => n.endsWith('word_embeddings.weight'))!;
  const task = opsTrainTask({
    name: 'test/prefetch',
    describe: () => 'tiny BertForMaskedLM',
    store: model.params,
    numExamples: () => 12,
    inputs: ['input_ids', 'attention_mask', 'token_type_ids', 'positions', 'labels'].map((name) => ({ name, dtype: 'int32' as const, shape: name === 'positions' || name === 'labels' ? ['n'] : ['batch', 'seq'] })),
    readsWeightsInBatch: readsWeights,
    async batch(indices, ctx) {
      ahead.push(current.batchIndex !== null && current.batchIndex !== ctx.batchIndex);
      const x = tinyBertBatch(ctx.rng);
      x.ids[0] = 1 + indices[0];
      if (readsWeights) {
        if (awaitsWeights) await ctx.weightsReady?.();
        const sum = (await model.params.toFloat32(table)).reduce((a, b) => a + b, 0);
        x.labels[0] = Math.floor(Math.abs(sum) * 1e4) % TINY_BERT.vocabSize;
      }
      const grid = [x.b, x.len];
      return {
        input_ids: { data: x.ids, shape: grid },
        attention_mask: { data: x.mask, shape: grid },
        token_type_ids: { data: x.types, shape: grid },
        positions: { data: x.positions, shape: [x.positions.length] },
        labels: { data: x.labels, shape: [x.labels.length] },
      };
    },
    loss: (ops, x, training) => model.loss(ops, { inputIds: x.input_ids, attentionMask: x.attention_mask, tokenTypeIds: x.token_type_ids }, x.positions, x.labels, { training }),
    saveWeights: (dir) => writeParameterFile(model.params, join(dir, 'model.safetensors')),
    loadWeights: (dir) => readParameterFile(model.params, join(dir, 'model.safetensors'), 'prefetch'),
  });
  return { task, model, table };
}

// 12 examples in micro-batches of 3: 4 per epoch, 2 epochs.
const RECIPE: TrainConfigInput = { epochs: 2, batch_size: 3, lr: 1e-2, warmup_steps: 1, max_grad_norm: 1, log_every_steps: 1, save_total_limit: 1, seed: 9 };

async function run(name: string, accum: number, readsWeights: boolean, prefetch: boolean, awaitsWeights = true) {
  const [ahead, current] = [[] as boolean[], { batchIndex: null as number | null }];
  const { task, model, table } = probeTask(readsWeights, awaitsWeights, ahead, current);
  const onnx = createOnnxEngine({ executionProviders: ['cpu'], intraOpNumThreads: 1, prefetch });
  // The engine, with the micro-batch whose microStep is running noted.
  const engine: typeof onnx = async (setup) => {
    const inner = await onnx(setup);
    const step = inner.microStep.bind(inner);
    const microStep: typeof inner.microStep = async (indices, ctx, groupSize, lr) => {
      current.batchIndex = ctx.batchIndex;
      try {
        return await step(indices, ctx, groupSize, lr);
      } finally {
        current.batchIndex = null;
      }
    };
    return Object.assign(inner, { microStep });
  };
  const result = await train({ ...RECIPE, grad_accum_steps: accum, output_dir: join(tmp, name) }, task, { log: null, engine });
  const weights = await model.params.toFloat32(table);
  model.dispose();
  return { losses: result.history.map((r) => r.loss), weights, ahead };
}

describe('createOnnxEngine: prefetch (the next batch built while the worker runs the current one)', () => {
  it.each([
    // one micro-batch per step: every batch but an epoch's first is built ahead
    [1, true, 6],
    // accumulation over 2, batch() reads the weights: only the second of each group (same weights)
    [2, true, 4],
    [2, false, 6],
  ] as const)('grad_accum_steps %i, batch() reads the weights: %s — the same bits as built when its step starts (%i of 8 built ahead)', async (accum, readsWeights, builtAhead) => {
    const on = await run(`on-${accum}-${readsWeights}`, accum, readsWeights, true);
    const off = await run(`off-${accum}-${readsWeights}`, accum, readsWeights, false);
    expect(on.ahead.filter(Boolean)).toHaveLength(builtAhead);
    expect(on.ahead).toHaveLength(8);
    expect(off.ahead).toEqual(Array(8).fill(false));
    expect(on.losses).toHaveLength(8 / accum);
    expect(on.losses).toEqual(off.losses);
    expect(on.weights).toEqual(off.weights);
  }, 120_000);

  it('a batch() that reads the weights without awaiting ctx.weightsReady sees the weights before the step, and trains differently', async () => {
    const stale = await run('stale', 1, true, true, false);
    const off = await run('stale-off', 1, true, false);
    expect(stale.losses[0]).toBe(off.losses[0]);
    expect(stale.losses.slice(1)).not.toEqual(off.losses.slice(1));
  }, 120_000);
});
