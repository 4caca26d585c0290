import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfusionSet, ErrorGenerator } from '@proj/data-synth';
import { cscMetrics } from '@proj/metrics';
import type { MetricsRecord } from '@proj/trainer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { onlineExamples } from './example-source';
import { GapRelm } from './gap-relm';
import type { StageName } from './tasks';
import { resolveGapRelmResume, trainGapRelm, type TrainGapRelmOptions } from './train-gap-relm';
import { charTokenizer, corpusSentences } from './testing';

// Replacement errors on three frequent characters, each by a character clean text never has.
const CONFUSION = ConfusionSet.fromRecord({ 的: '嘚', 是: '昰', 一: '弌' });
const generator = new ErrorGenerator({ pi_skip: 0, pi_multiply: 0, pi_replace: 1, p_corrupt: 0.8, max_edits_per_sent: 1, seed: 7 }, CONFUSION);

const MODEL = {
  hidden_size: 48,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  intermediate_size: 96,
  max_position_embeddings: 40,
  prompt_length: 2,
  dropout: 0,
} as const;

let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'gap-relm-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const epochMeans = (history: MetricsRecord[]) => {
  const byEpoch = new Map<number, number[]>();
  for (const r of history) if (r.split === 'train') byEpoch.set(r.epoch, [...(byEpoch.get(r.epoch) ?? []), r.loss as number]);
  return [...byEpoch.values()].map((v) => v.reduce((a, b) => a + b, 0) / v.length);
};

describe('trainGapRelm', () => {
  it('three stages on synthetic errors lower the training loss and raise dev correction F1', async () => {
    const started = performance.now();
    const all = corpusSentences(6000, 6, 14).filter((s) => /[的是一]/u.test(s));
    const trainSentences = all.slice(0, 320);
    const devSentences = all.slice(320, 400);
    const tokenizer = charTokenizer(all.slice(0, 400), CONFUSION);
    const train = onlineExamples(trainSentences, generator, 1);
    const dev = onlineExamples(devSentences, generator, 2);
    const model = GapRelm.create(MODEL, tokenizer, 3);
    try {
      const devPairs = await Promise.all(devSentences.map((_, i) => dev.get(i, 0)));
      const f1Of = async (m: GapRelm) => {
        const out = await m.correct(devPairs.map((p) => p.source));
        return cscMetrics(devPairs.map((p) => p.source), devPairs.map((p) => p.target), out.map((c) => c.corrected)).sentence.correction.f1;
      };
      const f1Before = await f1Of(model);

      const result = await trainGapRelm({
        model,
        train,
        dev,
        trainConfig: { batch_size: 16, lr: 4e-3, warmup_steps: 2, log_every_steps: 1, seed: 11, weight_decay: 0 },
        stageOverrides: { infiller_pretrain: { epochs: 3 }, planner_train: { epochs: 2 }, joint_finetune: { epochs: 1 } },
        devEvalLimit: 80,
        outputDir: dir,
        log: null,
      });
      const seconds = (performance.now() - started) / 1000;
      const f1After = await f1Of(model);

      expect(result.stages.map((s) => s.name)).toEqual(['infiller_pretrain', 'planner_train', 'joint_finetune']);
      const losses = Object.fromEntries(result.stages.map((s) => [s.name, epochMeans(s.result.history)]));
      for (const stage of ['infiller_pretrain', 'planner_train'] as const) {
        const means = losses[stage];
        expect(means[means.length - 1]).toBeLessThan(0.7 * means[0]);
      }
      const devF1 = result.stages.flatMap((s) => s.result.history.filter((r) => r.split === 'dev').map((r) => r.f1 as number));
      console.log(
        `trainGapRelm test: ${seconds.toFixed(1)} s; epoch mean train loss ${JSON.stringify(Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.map((x) => +x.toFixed(3))])))}; ` +
          `dev F1 before ${f1Before.toFixed(3)}, per evaluation ${devF1.map((f) => f.toFixed(3)).join(' ')}, after ${f1After.toFixed(3)}`,
      );
      expect(f1After).toBeGreaterThan(f1Before + 0.2);

      // Output layout: per-stage run dirs, final/ and best/ (the best dev F1 over all stages).
      for (const stage of ['infiller_pretrain', 'planner_train', 'joint_finetune']) expect(existsSync(join(dir, stage, 'metrics.jsonl'))).toBe(true);
      expect(result.finalDir).toBe(join(dir, 'final'));
      expect(result.bestDir).toBe(join(dir, 'best'));
      const best = JSON.parse(await readFile(join(dir, 'best', 'gap_relm_best.json'), 'utf8')) as { f1: number };
      expect(best.f1).toBe(Math.max(...devF1));
      const reloaded = await GapRelm.load(result.finalDir);
      try {
        expect(await f1Of(reloaded)).toBe(f1After);
      } finally {
        reloaded.dispose();
      }

      // Resuming a finished run skips every stage and reproduces the final model.
      const again = GapRelm.create(MODEL, tokenizer, 99);
      try {
        const resumed = await trainGapRelm({ model: again, train, dev, trainConfig: { batch_size: 16 }, outputDir: dir, resumeFrom: dir, log: null });
        expect(resumed.stages.map((s) => s.result.global_step)).toEqual(result.stages.map((s) => s.result.global_step));
        expect(await f1Of(again)).toBe(f1After);
      } finally {
        again.dispose();
      }
    } finally {
      model.dispose();
    }
  }, 300_000); // ~60 s on 2 idle cores; a shared, loaded machine has needed more than 120 s

  describe('resume after kills', () => {
    const sentences = corpusSentences(2000, 6, 14).filter((s) => /[的是一]/u.test(s)).slice(0, 32);
    const tokenizer = charTokenizer(sentences, CONFUSION);
    const data = onlineExamples(sentences, generator, 4);
    const trainConfig = { batch_size: 8, lr: 3e-3, save_every_steps: 2, log_every_steps: 1, seed: 5 };
    const stageOverrides = { infiller_pretrain: { max_steps: 2 }, planner_train: { max_steps: 4 } };
    /** One trainGapRelm call on a fresh model (same seed, so the same recipe each time). */
    const run = async (outputDir: string, extra: Partial<TrainGapRelmOptions> = {}) => {
      const model = GapRelm.create({ ...MODEL, ptuning: 'none' }, tokenizer, 6);
      try {
        return await trainGapRelm({ model, train: data, trainConfig, stageOverrides, outputDir, stages: ['infiller_pretrain', 'planner_train'], log: null, ...extra });
      } finally {
        model.dispose();
      }
    };

    it('a kill between a stage\'s last checkpoint and its marker, then a second kill, still resumes; stale temp dirs and a torn metrics line do not block it', async () => {
      const out = join(dir, 'killed');
      await run(out);
      // Kill 1: after infiller_pretrain's last checkpoint, before its gap_relm_stage.json.
      await rm(join(out, 'infiller_pretrain', 'gap_relm_stage.json'));
      await rm(join(out, 'planner_train'), { recursive: true });
      await rm(join(out, 'final'), { recursive: true });
      // ...with a half-written checkpoint and model dir, a checkpoint half-way through pruning, and a torn last metrics line.
      await mkdir(join(out, 'infiller_pretrain', 'checkpoint-3.tmp-99999-0'));
      await mkdir(join(out, 'infiller_pretrain', 'checkpoint-1.deleting-99999-1'));
      await mkdir(join(out, 'final.tmp-99999'));
      await appendFile(join(out, 'infiller_pretrain', 'metrics.jsonl'), '{"step":3,"epo');
      // The resume finishes that stage (nothing left to train), then kill 2 before planner_train.
      const first = await run(out, { resumeFrom: out, stages: ['infiller_pretrain'] });
      expect(first.stages[0].result.global_step).toBe(2);
      expect(first.stages[0].result.last_checkpoint).toBe(join(out, 'infiller_pretrain', 'checkpoint-2'));
      expect(existsSync(join(out, 'infiller_pretrain', 'checkpoint-3.tmp-99999-0'))).toBe(false);
      expect(existsSync(join(out, 'infiller_pretrain', 'checkpoint-1.deleting-99999-1'))).toBe(false);
      expect(existsSync(join(out, 'final.tmp-99999'))).toBe(false);
      const marker = JSON.parse(await readFile(join(out, 'infiller_pretrain', 'gap_relm_stage.json'), 'utf8'));
      expect(marker.last_checkpoint).toBe(join(out, 'infiller_pretrain', 'checkpoint-2'));
      // A marker an older version wrote with last_checkpoint null is read from the stage's checkpoints.
      await writeFile(join(out, 'infiller_pretrain', 'gap_relm_stage.json'), JSON.stringify({ ...marker, last_checkpoint: null }));
      const second = await run(out, { resumeFrom: out });
      expect(second.stages.map((s) => [s.name, s.result.global_step])).toEqual([['infiller_pretrain', 2], ['planner_train', 4]]);
      expect(existsSync(join(second.finalDir, 'gap_relm_config.json'))).toBe(true);
    }, 120_000);

    it('resumeFrom takes a run dir, a stage dir or a checkpoint dir; a missing or foreign path is an error', async () => {
      const out = join(dir, 'points');
      const full = await run(out);
      expect(resolveGapRelmResume(out)).toEqual({ runDir: out });
      expect(resolveGapRelmResume(join(out, 'planner_train'))).toEqual({ runDir: out });
      const checkpoint = join(out, 'planner_train', 'checkpoint-2');
      expect(resolveGapRelmResume(checkpoint)).toEqual({ runDir: out, stage: 'planner_train', checkpoint });
      expect(() => resolveGapRelmResume(join(dir, 'nope'))).toThrow(`resolveGapRelmResume: ${join(dir, 'nope')} does not exist`);
      // A directory without stage dirs (the describe's own dir is a run: the first test trains into it).
      const foreign = join(dir, 'foreign');
      await mkdir(foreign, { recursive: true });
      expect(() => resolveGapRelmResume(foreign)).toThrow(/is neither a Gap-ReLM training run/);
      // From checkpoint-2 of planner_train into a new dir: infiller_pretrain is loaded, planner_train continues at step 2.
      const lines: string[] = [];
      const log = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
      const resumed = await run(join(dir, 'from-checkpoint'), { resumeFrom: checkpoint, log });
      expect(lines.join('')).toContain(`trainGapRelm: planner_train (resuming from ${checkpoint})`);
      expect(resumed.stages[1].result.history.filter((r) => r.split === 'train').map((r) => r.step)).toEqual([3, 4]);
      expect(resumed.stages[1].result.history.map((r) => r.loss)).toEqual(full.stages[1].result.history.filter((r) => r.step > 2).map((r) => r.loss));
      await expect(run(join(dir, 'x'), { resumeFrom: join(dir, 'nope') })).rejects.toThrow('does not exist');
      // Back into its own dir from planner_train's checkpoint: no later stage here, so it continues in place.
      const inPlace = await run(out, { resumeFrom: checkpoint });
      expect(inPlace.stages[1].result.global_step).toBe(4);
      // A later stage's checkpoints of the first attempt would be trained over: refused before any work.
      const three = join(dir, 'three');
      const threeStages = { stages: ['infiller_pretrain', 'planner_train', 'joint_finetune'] as StageName[], stageOverrides: { ...stageOverrides, joint_finetune: { max_steps: 1 } } };
      await run(three, threeStages);
      await expect(run(three, { ...threeStages, resumeFrom: join(three, 'planner_train', 'checkpoint-2') })).rejects.toThrow(
        `trainGapRelm: resuming ${three} from ${join(three, 'planner_train', 'checkpoint-2')} would train joint_finetune again over the checkpoints in ${join(three, 'joint_finetune')}`,
      );
    }, 120_000);

    it('timeBudget splits the seconds by share, passes what a stage leaves to the next, and a used-up budget still trains one step per stage', async () => {
      const lines: string[] = [];
      const log = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
      // 1,000 s, shares 1 : 3: the first stage may take a quarter; the second gets all that is left.
      const roomy = await run(join(dir, 'budget-roomy'), { log, timeBudget: { seconds: 1000, shares: { infiller_pretrain: 1, planner_train: 3 } } });
      expect(roomy.stages.map((s) => [s.result.stopped, s.result.global_step])).toEqual([['completed', 2], ['completed', 4]]);
      const granted = lines.join('').match(/trainGapRelm: (\w+) gets (\d+) s of the (\d+) s left of the 1000 s budget/g)!.map((l) => l.split(' ').slice(1, 4));
      expect(granted.map(([stage]) => stage)).toEqual(['infiller_pretrain', 'planner_train']);
      expect(Number(granted[0][2])).toBeGreaterThanOrEqual(249);
      expect(Number(granted[0][2])).toBeLessThanOrEqual(250);
      expect(Number(granted[1][2])).toBeGreaterThan(900); // what the first stage did not use

      const tight = await run(join(dir, 'budget-tight'), { timeBudget: { seconds: 1e-3 } });
      expect(tight.stages.map((s) => [s.result.stopped, s.result.global_step, s.result.total_steps])).toEqual([['time_limit', 1, 2], ['time_limit', 1, 4]]);
      expect(existsSync(join(tight.finalDir, 'gap_relm_config.json'))).toBe(true);
      await expect(run(join(dir, 'budget-bad'), { timeBudget: { seconds: 10, shares: { planner_train: 0 } } })).rejects.toThrow('trainGapRelm: timeBudget.shares.planner_train must be > 0, got 0');
    }, 120_000);
  });

  it('planner_init infiller: planner_train starts from a copy of the infiller\'s encoder (heads and prompts untouched), and says so', async () => {
    const tokenizer = charTokenizer(['一是的']);
    const model = GapRelm.create({ ...MODEL, planner_init: 'infiller' }, tokenizer, 1);
    try {
      const encoder = model.store.names().filter((n) => n.startsWith('planner.bert.'));
      const before = new Map(await Promise.all(model.store.names().map(async (n) => [n, await model.store.toFloat32(n)] as const)));
      const lines: string[] = [];
      const log = { write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream;
      // The first warmup step's lr is 0 and there is no weight decay: the one planner_train step leaves the weights as the stage started them.
      const train = onlineExamples(['一是的一是的'], generator, 1);
      await trainGapRelm({ model, train, trainConfig: { max_steps: 1, warmup_steps: 10, weight_decay: 0, batch_size: 1 }, outputDir: join(dir, 'planner-init'), stages: ['planner_train'], log });
      expect(lines.join('')).toContain(`planner_train starts from the infiller's encoder (planner_init infiller: ${encoder.length} tensors copied)`);
      const infillerOf = (name: string) => before.get(name.replace('planner.', 'infiller.'))!;
      // Two random encoders before: every random matrix differs (LayerNorm gains and zero biases are equal).
      const random = encoder.filter((name) => name.endsWith('.weight') && !name.includes('LayerNorm'));
      expect(encoder.filter((name) => !before.get(name)!.every((v, i) => v === infillerOf(name)[i]))).toEqual(random);
      for (const name of encoder) expect(await model.store.toFloat32(name), name).toEqual(infillerOf(name));
      for (const name of model.store.names().filter((n) => !n.startsWith('planner.bert.'))) expect(await model.store.toFloat32(name), name).toEqual(before.get(name));
    } finally {
      model.dispose();
    }
  }, 60_000);

  it('refuses unknown stages and stage overrides, naming them', async () => {
    const tokenizer = charTokenizer(['一是的']);
    const model = GapRelm.create({ ...MODEL, ptuning: 'none' }, tokenizer, 1);
    try {
      const train = onlineExamples(['一是的一是的'], generator, 1);
      await expect(trainGapRelm({ model, train, trainConfig: {}, outputDir: dir, stages: ['pretrain' as never], log: null })).rejects.toThrow(
        /trainGapRelm: stages holds "pretrain"; known stages: infiller_pretrain, planner_train, joint_finetune/,
      );
      await expect(trainGapRelm({ model, train, trainConfig: {}, outputDir: dir, stageOverrides: { joint: {} } as never, log: null })).rejects.toThrow(
        /stageOverrides has unknown stage "joint"/,
      );
    } finally {
      model.dispose();
    }
  });
});
