import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlannerOp, type PrecomputedExample } from '@proj/align';
import { Rng } from '@proj/core';
import { ConfusionSet, ErrorGenerator, precomputedLine } from '@proj/data-synth';
import { train, type StepContext } from '@proj/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import type { BertTokenizer } from '../tokenizers/bert-tokenizer';
import type { HostBatch } from '../train-engine/ops-task';
import { onlineExamples, staticExamples, type ExampleSource } from './example-source';
import { GapRelm } from './gap-relm';
import { createOpsStageTask, type GapRelmOpsTask } from './ops-stage-task';
import { scheduledSamplingProbability } from './tasks';
import { encodeExample } from './tokens';
import { charTokenizer, corpusSentences, TINY } from './testing';

/**
 * Replacement errors on three frequent characters, each by one character that never occurs in
 * clean text: a tiny model can learn both where (the odd character) and what (the context).
 */
const CONFUSION = ConfusionSet.fromRecord({ 的: '嘚', 是: '昰', 一: '弌' });
const generator = new ErrorGenerator({ pi_skip: 0, pi_multiply: 0, pi_replace: 1, p_corrupt: 0.8, max_edits_per_sent: 1, seed: 7 }, CONFUSION);

let sentences: string[];
let tokenizer: BertTokenizer;
let dir: string;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  sentences = corpusSentences(4000, 6, 14).filter((s) => /[的是一]/u.test(s)).slice(0, 360);
  tokenizer = charTokenizer(sentences, CONFUSION);
  dir = await mkdtemp(join(tmpdir(), 'gap-relm-tasks-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ctx = (step = 0, epoch = 0): StepContext => ({ epoch, batchIndex: 0, step, rng: new Rng(step + 1), training: true });

/**
 * A stage task's loss of one batch on TfOps without dropout; `weights` replace term-weight inputs
 * (`infill_weight`, `aux_weight`), so a term is that difference.
 */
function lossOf(task: GapRelmOpsTask, batch: HostBatch, weights: Record<string, number> = {}): number {
  return tf.tidy(() => {
    const x: Record<string, tf.Tensor> = {};
    for (const { name, dtype } of task.ops.inputs) x[name] = name in weights ? tf.scalar(weights[name]) : tf.tensor(batch[name].data, batch[name].shape, dtype);
    return (task.ops.loss(new TfOps(task.ops.store), x) as tf.Scalar).dataSync()[0];
  });
}

describe('example sources', () => {
  it('online examples differ per epoch, are reproducible from (seed, epoch, index), and differ by seed', async () => {
    const a = onlineExamples(sentences, generator, 11);
    const b = onlineExamples(sentences, generator, 11);
    const c = onlineExamples(sentences, generator, 12);
    const take = async (s: ExampleSource, epoch: number) => Promise.all(Array.from({ length: 40 }, (_, i) => s.get(i, epoch)));
    const [a0, a1, b0, c0] = await Promise.all([take(a, 0), take(a, 1), take(b, 0), take(c, 0)]);
    expect(b0).toEqual(a0);
    const changed = (x: typeof a0, y: typeof a0) => x.filter((e, i) => e.source !== y[i].source).length;
    expect(changed(a0, a1)).toBeGreaterThan(10);
    expect(changed(a0, c0)).toBeGreaterThan(10);
    // Every example is a valid one: targets are the clean sentences, labels fit the source.
    a0.forEach((e, i) => {
      expect(e.target).toBe(sentences[i]);
      expect(e.op_labels.length).toBe([...e.source].length + 1);
    });
  });

  it('static examples read precomputed JSONL lazily and name a bad record', async () => {
    const online = onlineExamples(sentences, generator, 3);
    const examples = await Promise.all(Array.from({ length: 5 }, (_, i) => online.get(i, 0)));
    const file = join(dir, 'train.jsonl');
    await writeFile(file, examples.map(precomputedLine).join('') + '{"nope": 1}\n');
    const source = await staticExamples(file);
    try {
      expect(source.length).toBe(6);
      expect(await source.get(3, 0)).toEqual(examples[3]);
      expect(await source.get(3, 9)).toEqual(examples[3]);
      await expect(source.get(5, 0)).rejects.toThrow(/staticExamples: .*train.jsonl record 5: expected an object with string "source"/);
      // Sizes for group_by_length: a record's bytes (static), a clean sentence's length (online).
      expect(source.exampleLength(3)).toBe(Buffer.byteLength(precomputedLine(examples[3])));
      expect(online.exampleLength(4)).toBe(sentences[4].length);
    } finally {
      await source.close();
    }
  });
});

describe('encodeExample truncation', () => {
  it('cuts source, labels, template and fills consistently to fit max_position_embeddings', async () => {
    const model = GapRelm.create({ ...TINY, max_position_embeddings: 20 }, tokenizer, 1);
    try {
      const online = onlineExamples(sentences, generator, 5);
      let cut = 0;
      for (let i = 0; i < 80; i++) {
        const raw = await online.get(i, 0);
        const e = encodeExample(raw, model.ids, model.budget)!;
        const n = e.source.length;
        expect(e.opLabels.length).toBe(n + 1);
        expect(e.insertLabels.length).toBe(n + 1);
        expect(n + 2 + 2).toBeLessThanOrEqual(20); // planner: [CLS] P source [SEP]
        expect(n + e.template.length + 2 + 3).toBeLessThanOrEqual(20); // infiller: [CLS] P source [SEP] template [SEP]
        expect(e.gold.length).toBe(e.maskPositions.length);
        for (const p of e.maskPositions) expect(e.template[p]).toBe(tokenizer.maskId);
        // The kept fills are the first gold fills, in order.
        expect(e.gold).toEqual(model.ids.ids(raw.gold_tokens.slice(0, e.gold.length)));
        if (e.truncated) cut++;
        else expect(e.template).toEqual(model.ids.ids(raw.template_tokens));
      }
      expect(cut).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });

  it.each([
    ['op_labels', { op_labels: [0, 0] }, /bad: op_labels must have 4 entries \(source tokens \+ 1\), got 2/],
    ['insert_labels', { insert_labels: [0] }, /bad: insert_labels must have 4 entries, got 1/],
    ['gold_tokens', { gold_tokens: ['x', 'y'] }, /bad: gold_tokens \(2\) and mask_positions \(1\) must be arrays of equal length/],
    ['mask_positions', { mask_positions: [0] }, /bad: mask_positions names template token 0, which is "a", not \[MASK\]/],
  ])('a record with bad %s is refused, naming the record and field', (_field, change, message) => {
    const model = GapRelm.create(TINY, tokenizer, 1);
    try {
      const good: PrecomputedExample = { source: 'abc', target: 'abd', op_labels: [0, 0, 0, 2], insert_labels: [0, 0, 0, 0], template_tokens: ['a', 'b', '[MASK]'], gold_tokens: ['d'], mask_positions: [2] };
      expect(encodeExample(good, model.ids, model.budget, 'bad')?.maskPositions).toEqual([2]);
      expect(() => encodeExample({ ...good, ...change } as never, model.ids, model.budget, 'bad')).toThrow(message);
    } finally {
      model.dispose();
    }
  });

  it('maps each code point to one id, lower-casing as the tokenizer says, [UNK] otherwise', () => {
    const model = GapRelm.create(TINY, tokenizer, 1);
    try {
      const ids = model.ids.ids(['的', '[MASK]', '☃']);
      expect(ids).toEqual([tokenizer.vocab.idOf('的'), tokenizer.maskId, tokenizer.unkId]);
    } finally {
      model.dispose();
    }
  });
});

describe('stage tasks', () => {
  it('scheduled-sampling probability ramps linearly over the stage', () => {
    [0.2, 0.45, 0.7].forEach((p, i) => expect(scheduledSamplingProbability(i * 5, 11, 0.2, 0.7)).toBeCloseTo(p, 12));
    expect(scheduledSamplingProbability(0, 1, 0, 0.5)).toBe(0.5);
  });

  it('scheduled sampling (p = 1) runs the planner and skips the infill loss the gold fills no longer fit', async () => {
    const model = GapRelm.create({ ...TINY, ss_start: 1, ss_end: 1, aux_mlm_weight: 0.5 }, tokenizer, 2);
    try {
      // A planner that keeps everything: its templates have no masks, unlike a corrupted example's.
      const bias = model.params().get('planner.planner.op_head.bias')!;
      bias.assign(tf.tensor1d([50, 0, 0]));
      const online = onlineExamples(sentences, generator, 5);
      const corrupted: number[] = [];
      for (let i = 0; corrupted.length < 4; i++) if ((await online.get(i, 0)).mask_positions.length > 0) corrupted.push(i);
      const task = createOpsStageTask('joint_finetune', model, { train: online, totalSteps: 10 });
      const batch = await task.batch(corrupted, ctx());
      expect(task.stats).toEqual({ batches: 1, scheduledBatches: 1, examplesKept: 0, examplesSkipped: 4 });
      // Every infill target is ignored and the term weighs 0: it adds nothing at any weight.
      expect(batch.infill_labels.data.every((l) => l === -100)).toBe(true);
      expect(batch.infill_weight.data[0]).toBe(0);
      const loss = lossOf(task, batch);
      expect(lossOf(task, batch, { infill_weight: 1 })).toBe(loss);
      const planner = lossOf(task, batch, { aux_weight: 0 });
      expect(planner).toBeGreaterThan(0);
      expect(loss - planner).toBeGreaterThan(0); // 0.5 · aux

      // p = 0: the same examples train the infiller on their gold templates.
      const plain = GapRelm.create({ ...TINY, ss_start: 0, ss_end: 0 }, tokenizer, 2);
      try {
        const t0 = createOpsStageTask('joint_finetune', plain, { train: online, totalSteps: 10 });
        const b0 = await t0.batch(corrupted, ctx());
        expect(b0.infill_weight.data[0]).toBe(1);
        const infill = lossOf(t0, b0) - lossOf(t0, b0, { infill_weight: 0 });
        expect(infill).toBeGreaterThan(Math.log(tokenizer.vocab.size) * 0.5);
        expect(t0.stats).toEqual({ batches: 1, scheduledBatches: 0, examplesKept: 0, examplesSkipped: 0 });
      } finally {
        plain.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it.each([
    ['no_insert', { no_insert: true }],
    ['no_delete', { no_delete: true }],
    ['template_only', { infiller_input: 'template_only' as const }],
    ['mlp prompts, own per model, aux MLM', { ptuning: 'mlp' as const, share_prompts: false, aux_mlm_weight: 1 }],
    ['no prompts', { ptuning: 'none' as const }],
  ])('%s: every stage computes a finite loss with gradients for its trainable parameters', async (_name, config) => {
    const model = GapRelm.create({ ...TINY, ...config }, tokenizer, 8);
    try {
      const online = onlineExamples(sentences, generator, 5);
      for (const stage of ['infiller_pretrain', 'planner_train', 'joint_finetune'] as const) {
        const task = createOpsStageTask(stage, model, { train: online });
        const batch = await task.batch([0, 1, 2, 3, 4, 5], ctx());
        const { value, grads } = model.store.grads(() => task.loss(batch, ctx()));
        expect(Number.isFinite(value.dataSync()[0])).toBe(true);
        const trained = [...grads.keys()].filter((n) => task.trainable!(n));
        expect(trained.length).toBeGreaterThan(0);
        tf.dispose([value, ...grads.values()]);
      }
    } finally {
      model.dispose();
    }
  });

  it('ablations: no_insert drops the insert loss; no_delete trains no DELETE and decoding never deletes', async () => {
    const online = onlineExamples(sentences, generator, 5);
    const plannerBatch = async (config: object, source = online) => {
      const model = GapRelm.create({ ...TINY, ...config }, tokenizer, 9);
      try {
        const task = createOpsStageTask('planner_train', model, { train: source });
        const batch = await task.batch([0, 1, 2, 3, 4, 5, 6, 7], ctx());
        return { loss: lossOf(task, batch), opTargets: Array.from(batch.op_targets.data) };
      } finally {
        model.dispose();
      }
    };
    // Same weights (same seed): the insert cross-entropy (about ln 4 untrained) is gone.
    expect((await plannerBatch({})).loss - (await plannerBatch({ no_insert: true })).loss).toBeGreaterThan(1);
    // Doubled characters: their gold op is DELETE, which no_delete leaves untrained.
    const doubled = onlineExamples(sentences, new ErrorGenerator({ pi_skip: 0, pi_multiply: 1, pi_replace: 0, p_corrupt: 1, max_edits_per_sent: 1, seed: 7 }, CONFUSION), 5);
    const all = (await plannerBatch({}, doubled)).opTargets;
    expect(all.filter((t) => t === PlannerOp.DELETE).length).toBeGreaterThan(0);
    expect((await plannerBatch({ no_delete: true }, doubled)).opTargets).toEqual(all.map((t) => (t === PlannerOp.DELETE ? -100 : t)));
    const model = GapRelm.create({ ...TINY, no_delete: true }, tokenizer, 9);
    try {
      model.params().get('planner.planner.op_head.bias')!.assign(tf.tensor1d([0, 50, 0])); // DELETE everywhere
      model.params().get('planner.planner.insert_head.bias')!.assign(tf.tensor1d([50, 0, 0, 0])); // no insertions
      const [c] = await model.correct([sentences[0]]);
      expect(c.edits.filter((e) => e.kind === 'delete')).toEqual([]);
      expect(c.corrected).toBe(sentences[0]);
    } finally {
      model.dispose();
    }
  });

  it('infiller_pretrain on batches without any [MASK] (aux off) trains as zero-loss steps instead of throwing', async () => {
    // Clean copies only: no example has a [MASK], so no batch has an infill term (issue 12, item 1).
    const clean = onlineExamples(sentences.slice(0, 24), new ErrorGenerator({ p_corrupt: 0, seed: 7 }, CONFUSION), 3);
    expect((await clean.get(0, 0)).mask_positions).toEqual([]);
    const model = GapRelm.create({ ...TINY, aux_mlm_weight: 0 }, tokenizer, 6);
    try {
      const task = createOpsStageTask('infiller_pretrain', model, { train: clean });
      const batch = await task.batch([0, 1, 2, 3], ctx());
      expect(batch.infill_weight.data[0]).toBe(0);
      // Zero up to its sign: 0 · the mean over no targets is -0.
      const { value, grads } = model.store.grads(() => task.loss(batch, ctx()));
      expect(Math.abs(value.dataSync()[0])).toBe(0);
      expect(grads.size).toBeGreaterThan(0);
      for (const g of grads.values()) expect(g.dataSync().every((v) => v === 0)).toBe(true);
      tf.dispose([value, ...grads.values()]);
      const result = await train({ epochs: 1, batch_size: 8, log_every_steps: 1, seed: 1, output_dir: join(dir, 'no-mask') }, task, { log: null });
      expect(result).toMatchObject({ stopped: 'completed', global_step: 3 });
      expect(result.history.filter((r) => r.split === 'train').map((r) => Math.abs(r.loss as number))).toEqual([0, 0, 0]);
    } finally {
      model.dispose();
    }
  });

  it('planner_train freezes the infiller; infiller_pretrain freezes the planner', () => {
    const model = GapRelm.create({ ...TINY, share_prompts: false }, tokenizer, 3);
    try {
      const online = onlineExamples(sentences, generator, 5);
      const names = [...model.params().keys()];
      const p = createOpsStageTask('planner_train', model, { train: online });
      const i = createOpsStageTask('infiller_pretrain', model, { train: online });
      const j = createOpsStageTask('joint_finetune', model, { train: online });
      expect(names.filter((n) => p.trainable!(n)).every((n) => n.startsWith('planner.') || n.startsWith('prompt.planner.'))).toBe(true);
      expect(names.filter((n) => i.trainable!(n)).every((n) => n.startsWith('infiller.') || n.startsWith('prompt.infiller.'))).toBe(true);
      expect(names.filter((n) => p.trainable!(n)).length + names.filter((n) => i.trainable!(n)).length).toBe(names.length);
      expect(names.every((n) => j.trainable!(n))).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('resume through the trainer continues to the same weights as an uninterrupted run', async () => {
    const data = onlineExamples(sentences.slice(0, 48), generator, 9);
    const config = { epochs: 2, batch_size: 8, lr: 3e-3, log_every_steps: 1, seed: 5 };
    const run = async (outputDir: string, abortAt?: number, resumeFrom?: string) => {
      const model = GapRelm.create({ ...TINY, dropout: 0.1 }, tokenizer, 4);
      const task = createOpsStageTask('planner_train', model, { train: data });
      const controller = new AbortController();
      const result = await train({ ...config, output_dir: outputDir }, task, {
        log: null,
        signal: controller.signal,
        resumeFrom,
        onLog: (r) => {
          if (abortAt !== undefined && r.step === abortAt) controller.abort();
        },
      });
      return { model, result };
    };
    const full = await run(join(dir, 'full'));
    const part = await run(join(dir, 'part'), 4);
    expect(part.result.stopped).toBe('aborted');
    expect(part.result.global_step).toBe(4);
    part.model.dispose();
    const resumed = await run(join(dir, 'part'), undefined, join(dir, 'part'));
    try {
      expect(resumed.result.global_step).toBe(full.result.global_step);
      const texts = sentences.slice(100, 104);
      const a = await full.model.plannerSource().plan({ sourceTokens: texts.map((t) => [...t]) });
      const b = await resumed.model.plannerSource().plan({ sourceTokens: texts.map((t) => [...t]) });
      expect([...b.opLogits[2]]).toEqual([...a.opLogits[2]]);
      const lossOf = (r: typeof full.result, step: number) => r.history.find((h) => h.split === 'train' && h.step === step)?.loss;
      expect(lossOf(resumed.result, 8)).toBe(lossOf(full.result, 8));
    } finally {
      full.model.dispose();
      resumed.model.dispose();
    }
  });
});
