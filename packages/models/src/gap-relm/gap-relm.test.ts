import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { readSafetensors, safetensorsToFloat32 } from '@proj/core';
import { loadBertForMaskedLM } from '../bert/weights';
import { GraphOps } from '../ops/graph-ops';
import { TfOps } from '../ops/tf-ops';
import type { BertTokenizer } from '../tokenizers/bert-tokenizer';
import { parseGapRelmConfig, type GapRelmConfigInput } from './config';
import { GapRelm } from './gap-relm';
import { charTokenizer, corpusSentences, TINY } from './testing';

let tokenizer: BertTokenizer;
let sentences: string[];
let dir: string;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  sentences = corpusSentences(200);
  tokenizer = charTokenizer(sentences);
  dir = await mkdtemp(join(tmpdir(), 'gap-relm-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const plan = (model: GapRelm, texts: string[]) => model.plannerSource().plan({ sourceTokens: texts.map((t) => [...t]) });

/** Template with a REPLACE mask at 1 and an insertion at the end, as the decoder would build it. */
function infillBatch(texts: string[]) {
  const sourceTokens = texts.map((t) => [...t]);
  const templates = sourceTokens.map((t) => [t[0], '[MASK]', ...t.slice(2), '[MASK]']);
  const maskPositions = templates.map((t) => [1, t.length - 1]);
  return { sourceTokens, templates, maskPositions };
}

const VARIANTS: { name: string; config: GapRelmConfigInput; promptParams: number }[] = [
  { name: 'lstm prompts, shared', config: { ptuning: 'lstm', share_prompts: true }, promptParams: 1 },
  { name: 'lstm prompts, one per model', config: { ptuning: 'lstm', share_prompts: false }, promptParams: 2 },
  { name: 'mlp prompts', config: { ptuning: 'mlp' }, promptParams: 1 },
  { name: 'no prompts', config: { ptuning: 'none' }, promptParams: 0 },
  { name: 'template-only infiller', config: { infiller_input: 'template_only' }, promptParams: 1 },
  { name: 'shared encoder', config: { share_encoder: true, aux_csc_weight: 1 }, promptParams: 1 },
];

describe('GapRelm forward: shapes, masks, padding', () => {
  it.each(VARIANTS)('$name: planner gives n+1 slots, infiller logits only at masks, padding changes nothing', async ({ config, promptParams }) => {
    const model = GapRelm.create({ ...TINY, ...config }, tokenizer, 1);
    try {
      const texts = [sentences[0], sentences[1].slice(0, 7), sentences[2].slice(0, 12)];
      const batch = await plan(model, texts);
      texts.forEach((t, b) => {
        expect(batch.opLogits[b].length).toBe(([...t].length + 1) * 3);
        expect(batch.insertLogits[b].length).toBe(([...t].length + 1) * 4);
      });
      // Each sentence alone (no padding) gives the same rows as inside the padded batch.
      for (let b = 0; b < texts.length; b++) {
        const single = await plan(model, [texts[b]]);
        expect(maxDiff(single.opLogits[0], batch.opLogits[b])).toBeLessThan(1e-5);
        expect(maxDiff(single.insertLogits[0], batch.insertLogits[b])).toBeLessThan(1e-5);
      }
      const infiller = model.infillerSource();
      const fills = await infiller.fill(infillBatch(texts));
      expect(fills.logits.map((l) => l.length)).toEqual(texts.map(() => 2 * infiller.vocab.length));
      for (let b = 0; b < texts.length; b++) {
        const one = infillBatch([texts[b]]);
        const single = await infiller.fill(one);
        expect(maxDiff(single.logits[0], fills.logits[b])).toBeLessThan(1e-5);
      }
      // Multi-character vocabulary entries ([CLS], ...) can never be a fill.
      expect(fills.logits[0][tokenizer.clsId]).toBe(-Infinity);
      const promptTensors = [...model.params().keys()].filter((n) => n.startsWith('prompt.') && n.endsWith('embedding.weight'));
      expect(promptTensors.length).toBe(promptParams);
      expect(model.describe()).toMatch(/planner [\d,]+ params/);
    } finally {
      model.dispose();
    }
  });

  it('prompts shift positions: the prompt embedding changes the planner output', async () => {
    const model = GapRelm.create(TINY, tokenizer, 2);
    try {
      const before = await plan(model, [sentences[3]]);
      // The last prompt-encoder bias adds onto every prompt embedding; a ramp, because the
      // embedding LayerNorm would cancel a constant shift.
      const v = model.params().get('prompt.mlp_head.2.bias')!;
      tf.tidy(() => v.assign(tf.add(v, tf.linspace(-1, 1, v.shape[0]))));
      const after = await plan(model, [sentences[3]]);
      expect(maxDiff(before.opLogits[0], after.opLogits[0])).toBeGreaterThan(1e-5);
    } finally {
      model.dispose();
    }
  });

  it('planner past max_position_embeddings: later slots are certain KEEP with no insertion', async () => {
    const model = GapRelm.create({ ...TINY, max_position_embeddings: 16 }, tokenizer, 3);
    expect(model.newParameters).toBeNull(); // from scratch: nothing pretrained, head_lr_scale does not apply
    try {
      const long = sentences.join('').slice(0, 30);
      const { opLogits, insertLogits } = await plan(model, [long]);
      expect(opLogits[0].length).toBe(31 * 3);
      const window = model.maxPlannerTokens;
      expect(window).toBe(16 - 2 - 2);
      expect([...opLogits[0].subarray(30 * 3)]).toEqual([0, -Infinity, -Infinity]);
      expect(Number.isFinite(opLogits[0][window * 3 + 1])).toBe(true);
      expect(insertLogits[0][30 * 4]).toBe(0);
    } finally {
      model.dispose();
    }
  });
});

describe('GapRelm long inputs', () => {
  it('a template longer than the model is filled in windows: one row per mask, equal to a fitting input where it fits', async () => {
    const model = GapRelm.create({ ...TINY, max_position_embeddings: 16 }, tokenizer, 7);
    try {
      const source = [...sentences.join('').slice(0, 10)];
      // 10 tokens, a mask after each: 20 template tokens, more than 16 - 2 prompts - 2 hold.
      const template = source.flatMap((t) => [t, '[MASK]']);
      const masks = template.map((t, i) => (t === '[MASK]' ? i : -1)).filter((i) => i >= 0);
      const infiller = model.infillerSource();
      const { logits } = await infiller.fill({ sourceTokens: [source], templates: [template], maskPositions: [masks] });
      expect(logits[0].length).toBe(masks.length * infiller.vocab.length);
      expect(logits[0].every((v) => !Number.isNaN(v))).toBe(true);
      // Windows hold 16 - 2 prompts - [CLS] [SEP] [SEP] = 11 template tokens, with an empty source.
      const first = await infiller.fill({ sourceTokens: [[]], templates: [template.slice(0, 11)], maskPositions: [masks.filter((p) => p < 11)] });
      expect(first.logits[0].length).toBe(5 * infiller.vocab.length);
      expect(maxDiff(first.logits[0], logits[0].subarray(0, first.logits[0].length))).toBeLessThan(1e-5);
    } finally {
      model.dispose();
    }
  });
});

describe('GapRelm.fromPretrained', () => {
  it('loads a Hugging Face BertForMaskedLM into both encoders (and its tokenizer)', async () => {
    const fixture = join(__dirname, '../../test/fixtures/tiny-bert');
    const model = await GapRelm.fromPretrained({ init_from: fixture, ptuning: 'mlp', prompt_length: 2 }, 1);
    const { model: mlm } = await loadBertForMaskedLM(fixture);
    try {
      expect(model.bertConfig.hiddenSize).toBe(mlm.config.hiddenSize);
      expect(model.bertConfig.hiddenDropoutProb).toBe(model.config.dropout);
      const same = async (a: string, b: string) => expect([...(await model.store.toFloat32(a))]).toEqual([...(await mlm.params.toFloat32(b))]);
      await same('planner.bert.encoder.layer.1.output.dense.weight', 'bert.encoder.layer.1.output.dense.weight');
      await same('infiller.bert.embeddings.word_embeddings.weight', 'bert.embeddings.word_embeddings.weight');
      await same('infiller.cls.predictions.transform.dense.weight', 'cls.predictions.transform.dense.weight');
      expect(model.params().has('planner.bert.pooler.dense.weight')).toBe(false);
      // The checkpoint's MLM head is kept, so only the planner heads and the prompt encoder are new.
      expect([...model.newParameters!].every((n) => n.startsWith('planner.planner.') || n.startsWith('prompt.'))).toBe(true);
      expect([...model.newParameters!].filter((n) => n.startsWith('planner.planner.')).length).toBe(4);
      const { opLogits } = await plan(model, ['abc']);
      expect(opLogits[0].length).toBe(4 * 3);
      // The template's token type as the checkpoint has it, by default.
      await same('infiller.bert.embeddings.token_type_embeddings.weight', 'bert.embeddings.token_type_embeddings.weight');
    } finally {
      model.dispose();
      mlm.dispose();
    }
  });

  it('template_type_init copy_type_0: the infiller\'s type-1 row starts as a copy of type 0; the planner and the rest as loaded', async () => {
    const fixture = join(__dirname, '../../test/fixtures/tiny-bert');
    const model = await GapRelm.fromPretrained({ init_from: fixture, template_type_init: 'copy_type_0' }, 1);
    const { model: mlm } = await loadBertForMaskedLM(fixture);
    try {
      const name = 'embeddings.token_type_embeddings.weight';
      const loaded = await mlm.params.toFloat32(`bert.${name}`);
      const h = model.bertConfig.hiddenSize;
      expect(loaded.slice(0, h)).not.toEqual(loaded.slice(h, 2 * h));
      const copied = await model.store.toFloat32(`infiller.bert.${name}`);
      expect([...copied.slice(h, 2 * h)]).toEqual([...loaded.slice(0, h)]);
      expect([...copied.slice(0, h)]).toEqual([...loaded.slice(0, h)]);
      expect([...copied.slice(2 * h)]).toEqual([...loaded.slice(2 * h)]);
      expect([...(await model.store.toFloat32(`planner.bert.${name}`))]).toEqual([...loaded]);
      expect(model.newParameters!.has(`infiller.bert.${name}`)).toBe(false);
    } finally {
      model.dispose();
      mlm.dispose();
    }
  });
});

describe('GapRelm checkpoints', () => {
  it.each(VARIANTS)('$name: save → load gives identical logits', async ({ name, config }) => {
    const model = GapRelm.create({ ...TINY, ...config }, tokenizer, 4);
    const out = join(dir, name.replace(/\W+/g, '-'));
    try {
      await model.save(out);
      const loaded = await GapRelm.load(out);
      try {
        expect([...loaded.params().keys()].sort()).toEqual([...model.params().keys()].sort());
        const texts = [sentences[5], sentences[6]];
        const a = await plan(model, texts);
        const b = await plan(loaded, texts);
        expect(maxDiff(a.opLogits[1], b.opLogits[1])).toBe(0);
        expect(maxDiff(a.insertLogits[0], b.insertLogits[0])).toBe(0);
        const fa = await model.infillerSource().fill(infillBatch(texts));
        const fb = await loaded.infillerSource().fill(infillBatch(texts));
        expect(maxDiff(fa.logits[0], fb.logits[0])).toBe(0);
        expect(loaded.config).toEqual(model.config);
      } finally {
        loaded.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('the infiller dir is a standard BertForMaskedLM: loadBertForMaskedLM reproduces its logits', async () => {
    // Without prompts and with the template alone, the infiller input is exactly a BERT MLM input.
    const model = GapRelm.create({ ...TINY, ptuning: 'none', infiller_input: 'template_only' }, tokenizer, 5);
    const out = join(dir, 'standard');
    try {
      await model.save(out);
      const { model: mlm, report } = await loadBertForMaskedLM(join(out, 'infiller'));
      try {
        expect(report.ignored).toEqual([]);
        expect(mlm.params.names().every((n) => n.startsWith('bert.') || n.startsWith('cls.predictions.'))).toBe(true);
        const batch = infillBatch([sentences[7]]);
        const ids = [tokenizer.clsId, ...model.ids.ids(batch.templates[0]), tokenizer.sepId];
        const theirs = tf.tidy(() => {
          const inputs = { inputIds: tf.tensor2d([ids], [1, ids.length], 'int32') };
          // Template masks at 1 and the end: input positions 2 and L - 2 (after [CLS], before [SEP]).
          return mlm.forward(new TfOps(mlm.params), inputs, { positions: tf.tensor1d([2, ids.length - 2], 'int32') }).logits!;
        });
        const expected = (await theirs.data()) as Float32Array;
        theirs.dispose();
        const ours = (await model.infillerSource().fill(batch)).logits[0];
        // Our source masks multi-character columns; compare the rest.
        let diff = 0;
        const fillable = model.ids.fillable();
        for (let i = 0; i < ours.length; i++) if (fillable[i % fillable.length]) diff = Math.max(diff, Math.abs(ours[i] - expected[i]));
        expect(diff).toBeLessThan(1e-5);
      } finally {
        mlm.dispose();
      }
    } finally {
      model.dispose();
    }
  });

  it('load names what is missing', async () => {
    await expect(GapRelm.load(join(dir, 'nowhere'))).rejects.toThrow(/GapRelm.load: .*nowhere has no gap_relm_config.json/);
  });
});

describe('GapRelm under GraphOps', () => {
  it.each(VARIANTS)('$name: records the planner and the infiller with symbolic batch and length', ({ config }) => {
    const model = GapRelm.create({ ...TINY, ...config }, tokenizer, 6);
    try {
      const g = new GraphOps(model.store);
      const inputs = {
        inputIds: g.input('input_ids', 'int32', ['batch', 'seq']),
        attentionMask: g.input('attention_mask', 'int32', ['batch', 'seq']),
        tokenTypeIds: g.input('token_type_ids', 'int32', ['batch', 'seq']),
      };
      const { opLogits, insertLogits } = model.planner(g, inputs);
      expect(opLogits.shape[0]).toBe('batch');
      expect(opLogits.shape[2]).toBe(3);
      expect(insertLogits.shape[2]).toBe(4);
      g.output(opLogits, 'op_logits');
      g.output(insertLogits, 'insert_logits');
      const logits = model.infiller(g, inputs, g.input('mask_positions', 'int32', ['masks']));
      expect(logits.shape).toEqual(['masks', tokenizer.vocab.size]);
      g.output(logits, 'mlm_logits');
      const graph = g.toGraph();
      const used = new Set(graph.initializers.filter((i) => i.kind === 'parameter').map((i) => i.name));
      // Every parameter is used by the recorded graphs (nothing silently left out).
      expect([...model.params().keys()].filter((n) => !used.has(n))).toEqual([]);
    } finally {
      model.dispose();
    }
  });
});

describe('GapRelm share_encoder', () => {
  it('one encoder: the planner has heads only, reads the infiller\'s encoder, and counts half the encoder parameters', async () => {
    const shared = GapRelm.create({ ...TINY, share_encoder: true }, tokenizer, 3);
    const separate = GapRelm.create({ ...TINY }, tokenizer, 3);
    try {
      const names = [...shared.params().keys()];
      expect(names.filter((n) => n.startsWith('planner.')).sort()).toEqual(['planner.planner.insert_head.bias', 'planner.planner.insert_head.weight', 'planner.planner.op_head.bias', 'planner.planner.op_head.weight']);
      const encoder = [...separate.params().keys()].filter((n) => n.startsWith('planner.bert.')).reduce((sum, n) => sum + separate.store.get(n).size, 0);
      expect(shared.store.count()).toBe(separate.store.count() - encoder);
      expect(shared.describe()).toMatch(/1 BERT shared by planner and infiller/);
      // The planner's logits move when the infiller's encoder does.
      const before = (await plan(shared, [sentences[3]])).opLogits[0];
      const layer = shared.store.get('infiller.bert.encoder.layer.0.output.dense.weight');
      layer.assign(tf.mul(layer, 2));
      const after = (await plan(shared, [sentences[3]])).opLogits[0];
      expect(maxDiff(before, after)).toBeGreaterThan(1e-3);
    } finally {
      shared.dispose();
      separate.dispose();
    }
  });

  it('plannerMlm is BERT-CSC on the planner\'s pass: the infiller\'s logits at the same source positions of a source-only input', async () => {
    const model = GapRelm.create({ ...TINY, share_encoder: true, ptuning: 'none', infiller_input: 'template_only' }, tokenizer, 8);
    try {
      const ids = model.ids.ids([...sentences[4]]);
      const x = model.plannerInputs([ids]);
      const positions = [1, 2, ids.length];
      const [viaPlanner, viaInfiller] = tf.tidy(() => {
        const ops = new TfOps(model.store);
        const t = GapRelm.tensors(x);
        const at = tf.tensor1d(positions, 'int32');
        // Template-only, no prompts: the infiller's input is the same [CLS] source [SEP].
        return [model.plannerMlm(ops, model.planner(ops, t).hidden, at).dataSync(), model.infiller(ops, { ...t, tokenTypeIds: tf.zerosLike(t.inputIds) }, at).dataSync()];
      });
      expect(viaPlanner.length).toBe(3 * tokenizer.vocab.size);
      expect(maxDiff(viaPlanner as Float32Array, viaInfiller as Float32Array)).toBeLessThan(1e-5);
      const separate = GapRelm.create({ ...TINY }, tokenizer, 8);
      expect(() => tf.tidy(() => separate.plannerMlm(new TfOps(separate.store), tf.zeros([1, 2, 32]), tf.tensor1d([0], 'int32')))).toThrow(/share_encoder false/);
      separate.dispose();
    } finally {
      model.dispose();
    }
  });

  it('fromPretrained loads the checkpoint once, into the shared encoder; only heads and prompts are new', async () => {
    const fixture = join(__dirname, '../../test/fixtures/tiny-bert');
    const model = await GapRelm.fromPretrained({ init_from: fixture, share_encoder: true, ptuning: 'mlp', prompt_length: 2 }, 1);
    const { model: mlm } = await loadBertForMaskedLM(fixture);
    try {
      expect([...model.params().keys()].some((n) => n.startsWith('planner.bert.'))).toBe(false);
      const name = 'bert.encoder.layer.1.output.dense.weight';
      expect([...(await model.store.toFloat32(`infiller.${name}`))]).toEqual([...(await mlm.params.toFloat32(name))]);
      expect([...model.newParameters!].every((n) => n.startsWith('planner.planner.') || n.startsWith('prompt.'))).toBe(true);
    } finally {
      model.dispose();
      mlm.dispose();
    }
  });

  it('the planner checkpoint still holds a whole encoder (bert.*, the shared one\'s), and load ties it back', async () => {
    const model = GapRelm.create({ ...TINY, share_encoder: true }, tokenizer, 2);
    const out = join(dir, 'shared-planner');
    try {
      await model.save(out);
      const { tensors } = await readSafetensors(join(out, 'planner', 'model.safetensors'));
      const encoder = [...model.params().keys()].filter((n) => n.startsWith('infiller.bert.')).map((n) => n.slice('infiller.'.length));
      expect([...tensors.keys()].filter((n) => n.startsWith('bert.')).sort()).toEqual(encoder.sort());
      const name = 'bert.encoder.layer.0.attention.self.query.weight';
      expect([...safetensorsToFloat32(tensors.get(name)!, name)]).toEqual([...(await model.store.toFloat32(`infiller.${name}`))]);
      const loaded = await GapRelm.load(out);
      try {
        expect([...loaded.params().keys()].some((n) => n.startsWith('planner.bert.'))).toBe(false);
      } finally {
        loaded.dispose();
      }
    } finally {
      model.dispose();
    }
  });
});

describe('GapRelmConfig', () => {
  it.each([
    [{ hidden_size: 30, num_attention_heads: 4 }, /hidden_size must be divisible by num_attention_heads \(4\), got 30/],
    [{ max_insert_k: 0 }, /max_insert_k: must be >= 1, got 0/],
    [{ ptuning: 'gru' }, /ptuning: .*got "gru"/],
    [{ infill_weigth: 1 }, /infill_weigth/],
    [{ share_encoder: true, planner_init: 'infiller' }, /planner_init 'infiller' copies .* with share_encoder the two are one encoder/],
  ])('%j is refused naming the field and value', (input, message) => {
    expect(() => parseGapRelmConfig(input)).toThrow(message);
  });

  it('GapRelm.create refuses init_from (it needs an async load)', () => {
    expect(() => GapRelm.create({ init_from: '/x' }, tokenizer, 1)).toThrow(/GapRelm.create: init_from is "\/x"; use GapRelm.fromPretrained/);
  });
});

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, a[i] === b[i] ? 0 : Math.abs(a[i] - b[i]));
  return d;
}
