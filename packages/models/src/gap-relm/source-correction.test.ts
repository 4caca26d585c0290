import * as tf from '@tensorflow/tfjs-core';
import { buildExample } from '@proj/align';
import { Rng } from '@proj/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import type { HostBatch } from '../train-engine/ops-task';
import { parseGapRelmConfig } from './config';
import type { PrecomputedExample } from '@proj/align';
import type { ExampleSource } from './example-source';
import { GapRelm } from './gap-relm';
import { createOpsStageTask } from './ops-stage-task';
import { sourceCorrectionLabels, sourceCorrectionTargets } from './stage-parts';
import { charTokenizer, TINY } from './testing';
import { encodeExample, type EncodedExample } from './tokens';

const IGNORE = -100;
// A replacement (性 → 兴), a deletion (了), an insertion (啊 at the end) and one unchanged pair.
const PAIRS: [string, string][] = [
  ['我今天很高性见到你。', '我今天很高兴见到你。'],
  ['我爱了北京天安门', '我爱北京天安门啊'],
  ['今天天气很好', '今天天气很好'],
];

let model: GapRelm;
let precomputed: PrecomputedExample[];
let examples: EncodedExample[];
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = GapRelm.create({ ...TINY, ptuning: 'mlp', aux_csc_weight: 0.5 }, charTokenizer(PAIRS.flat()), 3);
  precomputed = PAIRS.map(([s, t], i) => {
    const built = buildExample(s, t);
    if (!built.ok) throw new Error(`pair ${i}: ${built.reason}`);
    return built.example;
  });
  examples = precomputed.map((e) => encodeExample(e, model.ids, model.budget)!);
});
afterAll(() => model.dispose());

const id = (c: string) => model.ids.id(c);

describe('sourceCorrectionLabels: each source token\'s gold token', () => {
  it('is the token itself when kept, its fill when replaced, ignored when deleted; inserted tokens have no source row', () => {
    expect(sourceCorrectionLabels(examples[0], IGNORE)).toEqual([...'我今天很高兴见到你。'].map(id));
    expect(sourceCorrectionLabels(examples[1], IGNORE)).toEqual([id('我'), id('爱'), IGNORE, ...[...'北京天安门'].map(id)]);
    expect(sourceCorrectionLabels(examples[2], IGNORE)).toEqual(examples[2].source);
  });

  it('rejects labels that name more masks than the example has fills', () => {
    expect(() => sourceCorrectionLabels({ ...examples[0], gold: [] }, IGNORE)).toThrow(/name 1 masks but the example has 0 gold fills/);
  });
});

describe('sourceCorrectionTargets', () => {
  it('points at the source tokens of the infiller input (after [CLS] and the prompts), row by row', () => {
    const x = model.infillerInputs(examples.map((e) => e.source), examples.map((e) => e.template), examples.map((e) => e.maskPositions));
    const { positions, labels } = sourceCorrectionTargets(model, examples, x, IGNORE);
    expect(positions.map((p) => x.inputIds[p])).toEqual(examples.flatMap((e) => e.source));
    expect(positions.map((p) => x.tokenTypeIds[p]).every((t) => t === 0)).toBe(true);
    expect(positions.map((p) => Math.floor(p / x.length))).toEqual(examples.flatMap((e, b) => e.source.map(() => b)));
    expect(labels).toEqual(examples.flatMap((e) => sourceCorrectionLabels(e, IGNORE)));
  });
});

describe('the auxiliary BERT-CSC term of a stage loss', () => {
  const lossOf = (task: ReturnType<typeof createOpsStageTask>, batch: HostBatch) =>
    tf.tidy(() => {
      const x: Record<string, tf.Tensor> = {};
      for (const { name, dtype } of task.ops.inputs) x[name] = tf.tensor(batch[name].data, batch[name].shape, dtype);
      return (task.ops.loss(new TfOps(model.store), x) as tf.Scalar).dataSync()[0];
    });

  it('adds weight × the mean cross-entropy of the MLM head at the source tokens, from the infill term\'s forward pass', async () => {
    const train: ExampleSource = { length: precomputed.length, get: async (i) => precomputed[i], exampleLength: (i) => precomputed[i].source.length, describe: () => 'pairs', close: async () => {} };
    const task = createOpsStageTask('infiller_pretrain', model, { train });
    const batch = await task.batch([0, 1, 2], { epoch: 0, batchIndex: 0, step: 0, rng: new Rng(0), training: true });
    const weighted = (w: number) => lossOf(task, { ...batch, csc_weight: { data: Float32Array.of(w), shape: [] } });
    // By hand: the infiller's logits at the source tokens, log-softmax, the gold token's negative log-probability, averaged over non-ignored rows.
    const x = model.infillerInputs(examples.map((e) => e.source), examples.map((e) => e.template), examples.map((e) => e.maskPositions));
    const { positions, labels } = sourceCorrectionTargets(model, examples, x, IGNORE);
    const logProbs = tf.tidy(() => tf.logSoftmax(model.infiller(new TfOps(model.store), GapRelm.tensors(x), tf.tensor1d(positions, 'int32'))).arraySync() as number[][]);
    const rows = labels.flatMap((label, i) => (label === IGNORE ? [] : [-logProbs[i][label]]));
    const byHand = rows.reduce((a, b) => a + b, 0) / rows.length;
    expect(rows.length).toBe(labels.length - 1); // the deleted 了
    expect(Math.abs(weighted(0.5) - weighted(0) - 0.5 * byHand)).toBeLessThan(1e-4);
    expect(Math.abs(weighted(2) - weighted(0) - 2 * byHand)).toBeLessThan(1e-4);
    expect(weighted(0.5)).toBeCloseTo(lossOf(task, batch), 6); // the config's weight is what the batch feeds
  });

  it('needs the source segment: with infiller_input template_only the config is refused, naming the key', () => {
    expect(() => parseGapRelmConfig({ aux_csc_weight: 0.5, infiller_input: 'template_only' })).toThrow(/aux_csc_weight.*source_and_template/);
  });
});
