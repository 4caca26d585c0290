import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@proj/core';
import { readMetricsLog, train, type MetricsRecord } from '@proj/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { createOnnxEngine } from '../train-engine/onnx-engine';
import { TfOps } from '../ops/tf-ops';
import { CAUSAL_LM_PRESETS } from './config';
import { CausalLm } from './model';
import { PackedTokens } from './packed-tokens';
import { prepareLmData } from './prepare-data';
import { createCausalLmOpsTask } from './ops-task';
import { createCausalLmTask } from './task';
import { loadCausalLm, saveCausalLm } from './weights';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const TOKENIZER = join(ROOT, 'apps/mateconv/data/tokenizers/minimind');
const CORPUS = join(ROOT, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt');

let dir: string;
let trainData: PackedTokens;
let devData: PackedTokens;
beforeAll(async () => {
  // wasm: a 6,400-entry vocabulary step is ~10x faster than on the cpu backend.
  await initBackend({ backend: 'wasm' });
  dir = await mkdtemp(join(tmpdir(), 'causal-lm-task-'));
  const lines = readFileSync(CORPUS, 'utf8').split('\n');
  await writeFile(join(dir, 'train.txt'), lines.slice(0, 600).join('\n'));
  await writeFile(join(dir, 'dev.txt'), lines.slice(600, 700).join('\n'));
  for (const split of ['train', 'dev']) {
    await prepareLmData({ inputs: [join(dir, `${split}.txt`)], outputDir: join(dir, split), tokenizerDir: TOKENIZER, threads: 0, progress: false });
  }
  trainData = await PackedTokens.open(join(dir, 'train'));
  devData = await PackedTokens.open(join(dir, 'dev'));
});
afterAll(async () => {
  await trainData.close();
  await devData.close();
  await rm(dir, { recursive: true, force: true });
});

describe('createCausalLmTask', () => {
  it('train() on packed windows lowers the dev loss; the checkpoint reloads with the same logits', async () => {
    const model = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: 6400 }, new Rng(2));
    const task = createCausalLmTask(model, { train: trainData, seqLen: 32, dev: devData, devWindows: 32 });
    expect(task.trainMetrics).toBeUndefined();
    expect(task.numExamples()).toBe(Math.floor((trainData.numTokens - 1) / 32));
    const before = (await task.evaluate!({ epoch: 0, step: 0 })) as { loss: number; perplexity: number };
    expect(before.loss).toBeGreaterThan(Math.log(6400) - 0.5);
    const runDir = join(dir, 'run');
    const result = await train({ max_steps: 30, batch_size: 8, lr: 1e-2, warmup_steps: 3, eval_every_steps: 15, log_every_steps: 10, output_dir: runDir, seed: 1 }, task, { log: null });
    expect(result.stopped).toBe('completed');
    const dev = result.history.filter((r) => r.split === 'dev');
    expect(dev.map((r) => r.step)).toEqual([15, 30]);
    const after = dev[dev.length - 1] as unknown as { loss: number; perplexity: number };
    expect(after.loss).toBeLessThan(before.loss - 1);
    expect(after.perplexity).toBeCloseTo(Math.exp(after.loss), 3);
    // A dense model declares no training metrics: its train rows are the trainer's own fields.
    for (const r of (await readMetricsLog(join(runDir, 'metrics.jsonl'))).filter((r) => r.split === 'train')) {
      expect(Object.keys(r)).toEqual(['step', 'epoch', 'split', 'loss', 'lr', 'grad_norm', 'tokens_per_s']);
    }

    // Save and load: same config, same logits.
    await saveCausalLm(model, join(dir, 'saved'));
    const config = JSON.parse(readFileSync(join(dir, 'saved', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ architectures: ['LlamaForCausalLM'], model_type: 'llama', num_key_value_heads: 2, tie_word_embeddings: true });
    const loaded = await loadCausalLm(join(dir, 'saved'));
    const ids = tf.tensor2d([[5, 100, 2000, 7]], [1, 4], 'int32');
    const [a, b] = [model, loaded].map((m) => tf.tidy(() => m.forward(new TfOps(m.params), ids).dataSync() as Float32Array));
    expect(Array.from(b)).toEqual(Array.from(a));
    expect((await readdir(runDir)).some((name) => name.startsWith('checkpoint-'))).toBe(true);
    tf.dispose(ids);
    loaded.dispose();
    model.dispose();
  }, 120_000);

  it('a MoE model: evaluate adds aux_loss and max_expert_load; save / load keeps the MoE config and logits', async () => {
    const model = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: 6400, use_moe: true, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 16 }, new Rng(3));
    const task = createCausalLmTask(model, { train: trainData, seqLen: 16, dev: devData, devWindows: 4 });
    expect(task.describe()).toContain('MoE 4 experts top-2 + 1 shared of SwiGLU 16');
    const metrics = (await task.evaluate!({ epoch: 0, step: 0 })) as Record<string, number>;
    expect(metrics.perplexity).toBeCloseTo(Math.exp(metrics.loss), 3);
    expect(metrics.aux_loss).toBeGreaterThan(0.01 * 2 * 0.9); // coef 0.01 · 2 blocks · (about 1 at random init)
    expect(metrics.max_expert_load).toBeGreaterThanOrEqual(0.25);
    expect(metrics.max_expert_load).toBeLessThanOrEqual(1);
    // Its training steps report the loss's parts and the expert load from the same forward pass.
    expect(task.trainMetrics?.names).toEqual(['lm_loss', 'aux_loss', 'max_expert_load']);
    const ctx = { epoch: 0, batchIndex: 0, step: 0, rng: new Rng(1), training: true } as const;
    const batch = await task.batch([0, 1, 2, 3], ctx);
    const step: Record<string, number> = tf.tidy(() => {
      const out = task.trainMetrics!.lossAndMetrics(batch, ctx);
      const values = Object.fromEntries(Object.entries(out.metrics).map(([name, t]) => [name, t.dataSync()[0]]));
      return { ...values, loss: out.loss.dataSync()[0], plainLoss: task.loss(batch, ctx).dataSync()[0] };
    });
    expect(step.loss).toBe(step.plainLoss);
    expect(step.lm_loss + step.aux_loss).toBeCloseTo(step.loss, 5);
    expect(step.max_expert_load).toBeGreaterThanOrEqual(0.25);
    tf.dispose([batch.inputs, batch.targets]);
    await saveCausalLm(model, join(dir, 'saved-moe'));
    const config = JSON.parse(readFileSync(join(dir, 'saved-moe', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ model_type: 'minimind', use_moe: true, num_experts: 4, num_experts_per_tok: 2, n_shared_experts: 1, moe_intermediate_size: 16 });
    const loaded = await loadCausalLm(join(dir, 'saved-moe'));
    const ids = tf.tensor2d([[5, 100, 2000, 7]], [1, 4], 'int32');
    const [a, b] = [model, loaded].map((m) => tf.tidy(() => m.forward(new TfOps(m.params), ids).dataSync() as Float32Array));
    expect(Array.from(b)).toEqual(Array.from(a));
    tf.dispose(ids);
    loaded.dispose();
    model.dispose();
  });

  it.each([1, 2])(
    'createCausalLmOpsTask: 4 MoE steps (%i micro-batches each) on the onnxruntime engine equal the tfjs engine: loss and the training metrics 1e-4 rel, weights 1e-4',
    async (accum) => {
      const config = { ...CAUSAL_LM_PRESETS.tiny, vocab_size: 6400, use_moe: true, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 16, router_aux_loss_coef: 0.1 };
      const runs: Record<string, { rows: MetricsRecord[]; weights: Map<string, Float32Array> }> = {};
      for (const engine of ['tfjs', 'onnx'] as const) {
        const model = CausalLm.random(config, new Rng(5));
        const task = createCausalLmOpsTask(model, { train: trainData, seqLen: 16 });
        const outputDir = join(dir, `ops-${accum}-${engine}`);
        const recipe = { max_steps: 4, batch_size: 4 / accum, grad_accum_steps: accum, lr: 1e-2, warmup_steps: 1, log_every_steps: 1, save_total_limit: 0, output_dir: outputDir, seed: 3 };
        await train(recipe, task, { log: null, engine: engine === 'onnx' ? createOnnxEngine({ executionProviders: ['cpu'], intraOpNumThreads: 1 }) : undefined });
        runs[engine] = {
          rows: (await readMetricsLog(join(outputDir, 'metrics.jsonl'))).filter((r) => r.split === 'train'),
          weights: new Map(await Promise.all(model.params.names().map(async (n) => [n, await model.params.toFloat32(n)] as const))),
        };
        model.dispose();
      }
      expect(runs.onnx.rows.length).toBe(4);
      for (const engine of ['tfjs', 'onnx'] as const) {
        for (const r of runs[engine].rows) {
          expect(Object.keys(r), engine).toEqual(['step', 'epoch', 'split', 'loss', 'lm_loss', 'aux_loss', 'max_expert_load', 'lr', 'grad_norm', 'tokens_per_s']);
          // The loss is the sum of its parts; each block routes at least its even share to its busiest expert.
          expect(Math.abs((r.loss as number) - (r.lm_loss as number) - (r.aux_loss as number)), `${engine} step ${r.step}`).toBeLessThan(1e-5);
          expect(r.aux_loss as number).toBeGreaterThan(0.1 * 2 * 0.9); // coef 0.1 · 2 blocks · (about 1 near even routing)
          expect(r.max_expert_load as number).toBeGreaterThanOrEqual(0.25);
          expect(r.max_expert_load as number).toBeLessThanOrEqual(1);
        }
      }
      for (const key of ['loss', 'lm_loss', 'aux_loss', 'max_expert_load']) {
        runs.onnx.rows.forEach((r, i) => {
          const want = runs.tfjs.rows[i][key] as number;
          expect(Math.abs((r[key] as number) - want) / want, `${key} step ${r.step}`).toBeLessThan(1e-4);
        });
      }
      let worst = 0;
      for (const [name, w] of runs.tfjs.weights) runs.onnx.weights.get(name)!.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - w[i]))));
      const show = (key: string) => `${key} ${runs.onnx.rows.map((r) => (r[key] as number).toFixed(4)).join(' ')}`;
      console.log(`causal LM MoE on the onnx engine, ${accum} micro-batches per step: ${['loss', 'aux_loss', 'max_expert_load'].map(show).join('; ')}; max weight diff ${worst.toExponential(2)}`);
      expect(worst).toBeLessThan(1e-4);
    },
    120_000,
  );

  it('refuses a corpus shorter than one window', () => {
    const model = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: 6400 }, new Rng(2));
    expect(() => createCausalLmTask(model, { train: trainData, seqLen: trainData.numTokens })).toThrow('fewer than seqLen + 1');
    model.dispose();
  });
});
