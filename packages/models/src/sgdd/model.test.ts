import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@proj/core';
import { initBackend } from '../backend/init-backend';
import { resolveBertConfig } from '../bert/config';
import { BertModel } from '../bert/model';
import { recordSgddDecoder, sgddDecoderToOnnx } from '../onnx/export';
import { TfOps } from '../ops/tf-ops';
import { makeSgddBatch } from './batch';
import { defaultSgddConfig, parseSgddConfig, SGDD_LEGACY_ARCHITECTURE, type SgddConfig } from './config';
import { SgddModel, sgddParameterShapes, SGDD_NULL_MEMORY, SGDD_POSITION_EMBEDDINGS, SGDD_SEMANTIC_PROJECTION, SGDD_WORD_EMBEDDINGS, type SgddHostBatch } from './model';
import { encodeSentences, meanPool } from './semantic';
import { TINY_SGDD, toyVectors, toyRows, trainSteps } from './testing';
import { loadSgdd, saveSgdd, SGDD_CONFIG_FILE } from './weights';

let model: SgddModel;
let ops: TfOps;
// A larger init than 0.02 so a random model's logits respond visibly to each input.
const config: SgddConfig = parseSgddConfig({ ...TINY_SGDD, initializer_range: 0.2 });

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = SgddModel.random(config, new Rng(1));
  ops = new TfOps(model.params);
});
afterAll(() => model.dispose());

const count = (shapes: Map<string, number[]>) => [...shapes.values()].reduce((s, shape) => s + shape.reduce((a, b) => a * b, 1), 0);

describe('SGDD config and parameters', () => {
  it('the full-size design: 6 layers, 512 wide, 8 heads, FFN 2048, 64 tokens, 1,000 steps', () => {
    const { hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, max_length, num_timesteps, vocab_size, uncond_prob } = defaultSgddConfig;
    expect({ hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, max_length, num_timesteps, vocab_size, uncond_prob }).toEqual({
      hidden_size: 512, num_hidden_layers: 6, num_attention_heads: 8, intermediate_size: 2048, max_length: 64, num_timesteps: 1000, vocab_size: 21128, uncond_prob: 0.1,
    });
  });

  it('parameter count: 38.73M with the 21,128-token Chinese vocabulary; 54.7M with RoBERTa-base (vocab 50,265, 768-d vector), the original design', () => {
    // Per layer: cross- and self-attention 2 x 4 x (512² + 512), FFN 2 x 512 x 2048 + 2048 + 512, 3 LayerNorms: 4,204,032.
    // Plus tied embeddings V x 512, position embeddings 64 x 512 and their LayerNorm, timestep MLP 2 x (512² + 512),
    // projection to 8 memory tokens E x 4096 + 4096, 8 null tokens 4096, final LayerNorm, output bias V.
    expect(count(sgddParameterShapes(defaultSgddConfig))).toBe(21128 * 512 + 64 * 512 + 1024 + 525312 + (512 * 4096 + 4096) + 4096 + 6 * 4204032 + 1024 + 21128);
    expect(count(sgddParameterShapes(defaultSgddConfig))).toBe(38728328);
    expect(count(sgddParameterShapes(parseSgddConfig({ vocab_size: 50265, semantic_size: 768 })))).toBe(54724185);
    // The legacy architecture (RoPE only, one memory vector): 1.87M fewer, as the models saved before the two keys.
    expect(count(sgddParameterShapes(parseSgddConfig(SGDD_LEGACY_ARCHITECTURE)))).toBe(36853384);
    expect(count(sgddParameterShapes(parseSgddConfig({ ...SGDD_LEGACY_ARCHITECTURE, vocab_size: 50265, semantic_size: 768 })))).toBe(51931737);
  });

  it('random() creates exactly those tensors, with the [PAD] embedding row zero', async () => {
    const shapes = sgddParameterShapes(config);
    expect(model.params.names().sort()).toEqual([...shapes.keys()].sort());
    for (const [name, shape] of shapes) expect(model.params.shape(name), name).toEqual(shape);
    expect(model.params.count()).toBe(count(shapes));
    const emb = await model.params.toFloat32(SGDD_WORD_EMBEDDINGS);
    expect(emb.slice(0, config.hidden_size).every((v) => v === 0)).toBe(true);
  });

  it('config errors name the field and value', () => {
    expect(() => parseSgddConfig({ hidden_size: 100, num_attention_heads: 8 })).toThrow(/hidden_size must be divisible by num_attention_heads \(8\), got 100/);
    expect(() => parseSgddConfig({ hiden_size: 10 })).toThrow(/parseSgddConfig: invalid SGDD config: .*hiden_size.*known fields: vocab_size/);
    expect(() => parseSgddConfig({ mask_token_id: 30000 })).toThrow(/mask_token_id must be < vocab_size \(21128\), got 30000/);
    expect(() => parseSgddConfig({ dropout: 1 })).toThrow(/dropout: must be < 1, got 1/);
  });
});

describe('semantic side', () => {
  it('meanPool averages non-padding positions only', () => {
    const hidden = [[[1, 2], [3, 4], [100, 100]], [[5, 6], [7, 8], [9, 10]]];
    const got = tf.tidy(() => meanPool(ops, tf.tensor3d(hidden), tf.tensor2d([[1, 1, 0], [1, 1, 1]], undefined, 'int32')).arraySync());
    expect(got).toEqual([[2, 3], [7, 8]]);
  });

  it('encodeSentences pools a frozen BERT; the decoder embeddings copy its word embeddings', async () => {
    const bertConfig = resolveBertConfig({ vocabSize: config.vocab_size, hiddenSize: config.hidden_size, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 16 });
    const encoder = BertModel.random(bertConfig, new Rng(2), { pooler: false });
    const encOps = new TfOps(encoder.params);
    const ids = tf.tensor2d([[2, 3, 4, 0], [5, 6, 7, 8]], undefined, 'int32');
    const mask = tf.tensor2d([[1, 1, 1, 0], [1, 1, 1, 1]], undefined, 'int32');
    const pooled = tf.tidy(() => encodeSentences(encOps, encoder, { inputIds: ids, attentionMask: mask }).arraySync()) as number[][];
    const hidden = tf.tidy(() => encoder.forward(encOps, { inputIds: ids, attentionMask: mask }).lastHiddenState.arraySync()) as number[][][];
    pooled[0].forEach((v, j) => expect(v).toBeCloseTo((hidden[0][0][j] + hidden[0][1][j] + hidden[0][2][j]) / 3, 5));
    const m = SgddModel.random(config, new Rng(3));
    m.initTokenEmbeddingsFrom(encoder);
    expect(await m.params.toFloat32(SGDD_WORD_EMBEDDINGS)).toEqual(await encoder.params.toFloat32('embeddings.word_embeddings.weight'));
    const wide = BertModel.random(resolveBertConfig({ ...bertConfig, hiddenSize: 32 }), new Rng(4), { pooler: false });
    expect(() => m.initTokenEmbeddingsFrom(wide)).toThrow(/encoder word embeddings are \[20,32\], the decoder needs \[20,16\]/);
    tf.dispose([ids, mask]);
    [encoder, wide, m].forEach((x) => x.dispose());
  });
});

describe('initBlocksFromEncoder', () => {
  // TINY_SGDD's blocks (hidden 16, 2 heads, FFN 32, 2 layers, 12 positions) under a 3-layer BERT of that width.
  const bertConfig = resolveBertConfig({ vocabSize: config.vocab_size, hiddenSize: 16, numHiddenLayers: 3, numAttentionHeads: 2, intermediateSize: 32, maxPositionEmbeddings: 16 });
  /** A random BERT with every tensor redrawn, LayerNorms included (a fresh BERT's are all (1, 0), which would hide a wrong mapping). */
  const distinctBert = (cfg = bertConfig) => {
    const bert = BertModel.random(cfg, new Rng(7), { pooler: false });
    const rng = new Rng(8);
    for (const name of bert.params.names()) {
      const v = bert.params.get(name);
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from({ length: v.size }, () => rng.normal()), v.shape)));
    }
    return bert;
  };
  // Written out, not derived from the code under test: decoder tensor (weight and bias) <- BERT tensor.
  const expectedSources: [string, string][] = [
    ['embeddings.LayerNorm', 'embeddings.LayerNorm'],
    ...[0, 1].flatMap((i): [string, string][] => [
      [`layers.${i}.self_attention.query`, `encoder.layer.${i}.attention.self.query`],
      [`layers.${i}.self_attention.key`, `encoder.layer.${i}.attention.self.key`],
      [`layers.${i}.self_attention.value`, `encoder.layer.${i}.attention.self.value`],
      [`layers.${i}.self_attention.output`, `encoder.layer.${i}.attention.output.dense`],
      [`layers.${i}.ffn.intermediate`, `encoder.layer.${i}.intermediate.dense`],
      [`layers.${i}.ffn.output`, `encoder.layer.${i}.output.dense`],
      [`layers.${i}.ffn_norm`, `encoder.layer.${i}.attention.output.LayerNorm`],
    ]),
    // Pre-LN: each norm takes the BERT norm whose output its sublayer read.
    ['layers.0.self_attention_norm', 'embeddings.LayerNorm'],
    ['layers.1.self_attention_norm', 'encoder.layer.0.output.LayerNorm'],
    ['final_norm', 'encoder.layer.1.output.LayerNorm'],
  ];

  it('decoder layer i takes encoder layer i, the LayerNorms by what they feed, positions + token type 0; every other tensor as the same seed without it', async () => {
    const encoder = distinctBert();
    const [m, plain] = [SgddModel.random(config, new Rng(3)), SgddModel.random(config, new Rng(3))];
    m.initBlocksFromEncoder(encoder);
    const copied = new Set<string>();
    for (const [target, source] of expectedSources) {
      for (const part of ['weight', 'bias']) {
        const name = `${target}.${part}`;
        expect(await m.params.toFloat32(name), name).toEqual(await encoder.params.toFloat32(`${source}.${part}`));
        expect(await m.params.toFloat32(name), name).not.toEqual(await plain.params.toFloat32(name));
        copied.add(name);
      }
    }
    const [positions, types] = [await encoder.params.toFloat32('embeddings.position_embeddings.weight'), await encoder.params.toFloat32('embeddings.token_type_embeddings.weight')];
    const H = config.hidden_size;
    const want = Float32Array.from({ length: config.max_length * H }, (_, k) => positions[k] + types[k % H]);
    expect(await m.params.toFloat32(SGDD_POSITION_EMBEDDINGS)).toEqual(want);
    copied.add(SGDD_POSITION_EMBEDDINGS);
    const untouched = m.params.names().filter((n) => !copied.has(n));
    expect(untouched).toEqual(expect.arrayContaining(['layers.0.cross_attention.query.weight', 'layers.1.cross_attention_norm.weight', 'time_embedding.linear_1.weight', `${SGDD_SEMANTIC_PROJECTION}.weight`, SGDD_NULL_MEMORY, SGDD_WORD_EMBEDDINGS, 'output_bias']));
    expect(untouched).toHaveLength(m.params.names().length - expectedSources.length * 2 - 1);
    for (const name of untouched) expect(await m.params.toFloat32(name), name).toEqual(await plain.params.toFloat32(name));
    // The copy is deep: training the decoder leaves the frozen encoder alone.
    const query = m.params.get('layers.0.self_attention.query.weight');
    tf.tidy(() => query.assign(tf.zerosLike(query)));
    expect((await encoder.params.toFloat32('encoder.layer.0.attention.self.query.weight')).some((v) => v !== 0)).toBe(true);
    [encoder, m, plain].forEach((x) => x.dispose());
  });

  it('without absolute positions the blocks still copy and there is no position table to fill', async () => {
    const encoder = distinctBert();
    const m = SgddModel.random(parseSgddConfig({ ...config, absolute_positions: false, max_length: 64 }), new Rng(3));
    m.initBlocksFromEncoder(encoder); // 64 positions > the encoder's 16: no matter without absolute positions
    expect(m.params.has(SGDD_POSITION_EMBEDDINGS)).toBe(false);
    expect(await m.params.toFloat32('layers.1.ffn.output.weight')).toEqual(await encoder.params.toFloat32('encoder.layer.1.output.dense.weight'));
    [encoder, m].forEach((x) => x.dispose());
  });

  it.each([
    ['wider', { hiddenSize: 32 }, "hidden_size 16 vs the encoder's 32"],
    ['more heads', { numAttentionHeads: 4 }, "num_attention_heads 2 vs the encoder's 4"],
    ['another FFN', { intermediateSize: 64 }, "intermediate_size 32 vs the encoder's 64"],
    ['fewer layers than the decoder', { numHiddenLayers: 1 }, "num_hidden_layers 2 > the encoder's 1"],
    ['fewer positions than max_length', { maxPositionEmbeddings: 8 }, "max_length 12 > the encoder's 8 positions"],
  ])('an encoder with %s is refused, naming the shapes, and nothing is copied', async (_what, change, message) => {
    const encoder = distinctBert(resolveBertConfig({ ...bertConfig, ...change }));
    const m = SgddModel.random(config, new Rng(3));
    const before = await m.params.toFloat32('layers.0.self_attention.query.weight');
    expect(() => m.initBlocksFromEncoder(encoder)).toThrow(`SgddModel.initBlocksFromEncoder: the encoder's layers do not fit the decoder: ${message}`);
    expect(await m.params.toFloat32('layers.0.self_attention.query.weight')).toEqual(before);
    expect(await m.params.toFloat32('final_norm.weight')).toEqual(new Float32Array(config.hidden_size).fill(1));
    [encoder, m].forEach((x) => x.dispose());
  });

  it('all mismatches in one message', () => {
    const encoder = BertModel.random(resolveBertConfig({ ...bertConfig, hiddenSize: 32, numAttentionHeads: 4, intermediateSize: 64, numHiddenLayers: 1 }), new Rng(7), { pooler: false });
    const m = SgddModel.random(config, new Rng(3));
    expect(() => m.initBlocksFromEncoder(encoder)).toThrow(/hidden_size 16 vs the encoder's 32; num_attention_heads 2 vs the encoder's 4; intermediate_size 32 vs the encoder's 64; num_hidden_layers 2 > the encoder's 1$/);
    [encoder, m].forEach((x) => x.dispose());
  });
});

/** Full logits [B, L, V] of the eval-mode decoder on a host batch. */
function logitsOf(m: SgddModel, b: Pick<SgddHostBatch, 'batch' | 'length' | 'inputIds' | 'attentionMask' | 'timesteps' | 'semantic' | 'condition'>): number[][][] {
  const o = new TfOps(m.params);
  return tf.tidy(() => {
    const { fullLogits } = m.forward(
      o,
      {
        inputIds: tf.tensor2d(b.inputIds, [b.batch, b.length], 'int32'),
        attentionMask: tf.tensor2d(b.attentionMask, [b.batch, b.length], 'int32'),
        timesteps: tf.tensor1d(b.timesteps, 'int32'),
        semantic: tf.tensor2d(b.semantic, [b.batch, m.config.semantic_size]),
        condition: tf.tensor1d(b.condition),
      },
      { fullLogits: true },
    );
    return fullLogits!.arraySync() as number[][][];
  });
}

describe('SgddModel.forward', () => {
  const rng = new Rng(5);
  const E = TINY_SGDD.semantic_size;
  const base = {
    batch: 2,
    length: 5,
    inputIds: Int32Array.from([2, 1, 4, 1, 6, 7, 1, 9, 0, 0]),
    attentionMask: Int32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 0, 0]),
    timesteps: Int32Array.from([30, 70]),
    semantic: Float32Array.from({ length: 2 * E }, () => rng.normal()),
    condition: Float32Array.from([1, 0]),
  };
  const maxDiff = (a: number[][][], b: number[][][], rows: [number, number][]) => Math.max(...rows.map(([bi, i]) => Math.max(...a[bi][i].map((v, k) => Math.abs(v - b[bi][i][k])))));

  it('is bidirectional, ignores padding, and a null-condition row ignores its semantic vector', () => {
    const ref = logitsOf(model, base);
    expect([ref.length, ref[0].length, ref[0][0].length]).toEqual([2, 5, config.vocab_size]);
    // Changing the last token changes position 0's logits (no causal mask).
    const later = logitsOf(model, { ...base, inputIds: Int32Array.from([2, 1, 4, 1, 11, 7, 1, 9, 0, 0]) });
    expect(maxDiff(ref, later, [[0, 0]])).toBeGreaterThan(1e-4);
    // A padded token changes nothing within the row's length.
    const padded = logitsOf(model, { ...base, inputIds: Int32Array.from([2, 1, 4, 1, 6, 7, 1, 9, 5, 3]) });
    expect(maxDiff(ref, padded, [[1, 0], [1, 1], [1, 2]])).toBeLessThan(1e-5);
    // Row 1 is unconditional: its semantic vector does not matter; row 0's does.
    const semantic = base.semantic.map((v) => v + 1);
    const moved = logitsOf(model, { ...base, semantic });
    expect(maxDiff(ref, moved, [[1, 0], [1, 1], [1, 2]])).toBeLessThan(1e-5);
    expect(maxDiff(ref, moved, [[0, 0]])).toBeGreaterThan(1e-4);
    // And the timestep matters.
    expect(maxDiff(ref, logitsOf(model, { ...base, timesteps: Int32Array.from([90, 70]) }), [[0, 1]])).toBeGreaterThan(1e-4);
  });

  it('logits at positions are the rows of the full logits', () => {
    const ref = logitsOf(model, base);
    const got = tf.tidy(() => {
      const { logits } = model.forward(
        ops,
        {
          inputIds: tf.tensor2d(base.inputIds, [2, 5], 'int32'),
          attentionMask: tf.tensor2d(base.attentionMask, [2, 5], 'int32'),
          timesteps: tf.tensor1d(base.timesteps, 'int32'),
          semantic: tf.tensor2d(base.semantic, [2, E]),
          condition: tf.tensor1d(base.condition),
        },
        { positions: tf.tensor1d([1, 3, 6], 'int32') },
      );
      return logits!.arraySync() as number[][];
    });
    [[0, 1], [0, 3], [1, 1]].forEach(([b, i], n) => got[n].forEach((v, k) => expect(v).toBeCloseTo(ref[b][i][k], 5)));
  });

  it('GraphOps records it; the ONNX decoder on onnxruntime equals the TfOps forward within 1e-4, at every position or a few', async () => {
    const graph = recordSgddDecoder(model);
    expect(graph.inputs.map((i) => [i.name, i.shape])).toEqual([
      ['input_ids', ['batch', 'seq']],
      ['attention_mask', ['batch', 'seq']],
      ['timesteps', ['batch']],
      ['semantic', ['batch', E]],
      ['condition', ['batch']],
      ['positions', ['positions']],
      ['pass_weights', ['passes']],
    ]);
    expect(graph.outputs.map((o) => [o.name, o.dtype])).toEqual([
      ['logits', 'float32'],
      ['candidates', 'int64'],
      ['candidate_log_probs', 'float32'],
    ]);
    expect(graph.outputs[0].shape).toEqual(['positions', config.vocab_size]);
    const session = await ort.InferenceSession.create(await sgddDecoderToOnnx(model));
    const one = { ...base, batch: 1, length: 3, inputIds: Int32Array.from([1, 1, 1]), attentionMask: Int32Array.from([1, 1, 1]), timesteps: Int32Array.from([100]), semantic: base.semantic.slice(0, E), condition: Float32Array.from([1]) };
    for (const [b, positions] of [
      [base, null],
      [base, [7, 1, 3]],
      [one, null],
    ] as const) {
      const i64 = (v: ArrayLike<number>, dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(Array.from(v), BigInt), dims);
      const at = positions ?? Array.from({ length: b.batch * b.length }, (_, k) => k);
      const out = await session.run({
        input_ids: i64(b.inputIds, [b.batch, b.length]),
        attention_mask: i64(b.attentionMask, [b.batch, b.length]),
        timesteps: i64(b.timesteps, [b.batch]),
        semantic: new ort.Tensor('float32', b.semantic, [b.batch, E]),
        condition: new ort.Tensor('float32', b.condition, [b.batch]),
        positions: i64(at, [at.length]),
        pass_weights: new ort.Tensor('float32', Float32Array.from([1]), [1]),
      });
      const full = logitsOf(model, b).flat(1);
      const want = at.flatMap((k) => full[k]);
      const got = out.logits.data as Float32Array;
      expect(out.logits.dims).toEqual([at.length, config.vocab_size]);
      expect(Math.max(...want.map((w, k) => Math.abs(w - got[k])))).toBeLessThan(1e-4);
    }
    await session.release();
  });
});

describe('positions and the cross-attention memory', () => {
  const legacy = parseSgddConfig({ ...TINY_SGDD, initializer_range: 0.2, ...SGDD_LEGACY_ARCHITECTURE });
  /** Logits of one all-[MASK] row of 6 (no [CLS] / [SEP] either): only positions can tell them apart. */
  const allMasked = (m: SgddModel) => {
    const E = m.config.semantic_size;
    return logitsOf(m, { batch: 1, length: 6, inputIds: new Int32Array(6).fill(m.config.mask_token_id), attentionMask: new Int32Array(6).fill(1), timesteps: Int32Array.from([100]), semantic: toyVectors(1, new Rng(4), E)[0], condition: Float32Array.from([1]) })[0];
  };
  const spread = (rows: number[][]) => Math.max(...rows.slice(1).flatMap((row) => row.map((v, k) => Math.abs(v - rows[0][k]))));

  it('an all-[MASK] row gets different logits at every position with absolute positions, the same everywhere with RoPE alone', () => {
    expect(config.absolute_positions).toBe(true);
    const rows = allMasked(model);
    for (let i = 1; i < rows.length; i++) expect(spread([rows[0], rows[i]]), `position ${i}`).toBeGreaterThan(1e-3);
    const old = SgddModel.random(legacy, new Rng(1));
    expect(spread(allMasked(old))).toBeLessThan(1e-5);
    old.dispose();
  });

  it('rope: false drops only the rotation: the same tensors, other logits, positions still told apart, and the ONNX decoder equals the TfOps forward; both position schemes off is refused', async () => {
    const plain = SgddModel.random(parseSgddConfig({ ...config, rope: false }), new Rng(1));
    expect(plain.params.names()).toEqual(model.params.names());
    for (const name of plain.params.names()) expect(await plain.params.toFloat32(name), name).toEqual(await model.params.toFloat32(name));
    const rows = allMasked(plain);
    expect(spread(rows)).toBeGreaterThan(1e-3);
    expect(spread([rows[2], allMasked(model)[2]])).toBeGreaterThan(1e-4);
    const E = config.semantic_size;
    const b = { batch: 1, length: 5, inputIds: Int32Array.from([2, 1, 5, 1, 3]), attentionMask: new Int32Array(5).fill(1), timesteps: Int32Array.from([50]), semantic: toyVectors(1, new Rng(5), E)[0], condition: Float32Array.from([1]) };
    const session = await ort.InferenceSession.create(await sgddDecoderToOnnx(plain));
    const i64 = (v: ArrayLike<number>, dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(Array.from(v), BigInt), dims);
    const out = await session.run({ input_ids: i64(b.inputIds, [1, 5]), attention_mask: i64(b.attentionMask, [1, 5]), timesteps: i64(b.timesteps, [1]), semantic: new ort.Tensor('float32', b.semantic, [1, E]), condition: new ort.Tensor('float32', b.condition, [1]), positions: i64([0, 1, 2, 3, 4], [5]), pass_weights: new ort.Tensor('float32', Float32Array.from([1]), [1]) });
    const want = logitsOf(plain, b)[0].flat();
    const got = out.logits.data as Float32Array;
    expect(Math.max(...want.map((w, k) => Math.abs(w - got[k])))).toBeLessThan(1e-4);
    await session.release();
    plain.dispose();
    expect(() => parseSgddConfig({ rope: false, absolute_positions: false })).toThrow(/rope.*cannot both be off/);
  });

  it('the gradient reaches the memory projection, the null tokens and the cross-attention query and key; with one memory vector query and key get none', () => {
    const rows = toyRows(4, new Rng(11));
    const batch = makeSgddBatch(rows, toyVectors(4, new Rng(12)), config, new Rng(13));
    batch.condition.set([1, 0, 1, 1]); // both memories in the batch
    const gradNorms = (m: SgddModel) => {
      const { value, grads } = m.params.grads(() => m.batchLoss(new TfOps(m.params), batch) as tf.Scalar);
      const norms = new Map([...grads].map(([n, g]) => [n, tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0])]));
      tf.dispose([value, ...grads.values()]);
      return (name: string) => norms.get(name) ?? 0;
    };
    // Not the key bias: it adds the same q·b to every score of a query, which softmax ignores in any attention.
    const cross = [0, 1].flatMap((i) => ['query.weight', 'query.bias', 'key.weight'].map((p) => `layers.${i}.cross_attention.${p}`));
    const norm = gradNorms(model);
    for (const name of [...cross, `${SGDD_SEMANTIC_PROJECTION}.weight`, SGDD_NULL_MEMORY, SGDD_POSITION_EMBEDDINGS, 'layers.0.cross_attention_norm.weight']) expect(norm(name), name).toBeGreaterThan(1e-6);
    const old = SgddModel.random(legacy, new Rng(1));
    const oldNorm = gradNorms(old);
    for (const name of cross.filter((n) => n.endsWith('weight'))) expect(oldNorm(name), name).toBeLessThan(1e-9);
    expect(oldNorm(`${SGDD_SEMANTIC_PROJECTION}.weight`)).toBeGreaterThan(1e-6);
    old.dispose();
  });

  it('a model saved before the architecture keys existed loads as the legacy architecture, with the same logits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sgdd-legacy-'));
    const old = SgddModel.random(legacy, new Rng(3));
    try {
      await saveSgdd(old, dir);
      const file = join(dir, SGDD_CONFIG_FILE);
      const { absolute_positions, memory_tokens, rope, ...before } = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      expect({ absolute_positions, memory_tokens, rope }).toEqual({ absolute_positions: false, memory_tokens: 1, rope: true });
      await writeFile(file, JSON.stringify(before));
      const loaded = await loadSgdd(dir);
      expect([loaded.config.absolute_positions, loaded.config.memory_tokens, loaded.config.rope]).toEqual([false, 1, true]);
      expect(loaded.params.has(SGDD_POSITION_EMBEDDINGS)).toBe(false);
      expect(loaded.params.shape(SGDD_NULL_MEMORY)).toEqual([legacy.hidden_size]);
      const ids = Int32Array.from([2, 1, 5, 1, 3]);
      const b = { batch: 1, length: 5, inputIds: ids, attentionMask: new Int32Array(5).fill(1), timesteps: Int32Array.from([50]), semantic: toyVectors(1, new Rng(5), legacy.semantic_size)[0], condition: Float32Array.from([1]) };
      expect(logitsOf(loaded, b)).toEqual(logitsOf(old, b));
      loaded.dispose();
      // A new model saves both keys, so it never reads as legacy.
      await saveSgdd(model, dir);
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ absolute_positions: true, memory_tokens: 8, rope: true });
    } finally {
      old.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SGDD training', () => {
  it('a few Adam steps on a toy reconstruction set lower the masked-token loss', async () => {
    const m = SgddModel.random(parseSgddConfig(TINY_SGDD), new Rng(6));
    const rows = toyRows(8, new Rng(7));
    const vectors = toyVectors(rows.length, new Rng(8));
    // Fixed evaluation batches (eval mode: no dropout, same draws before and after).
    const evalBatches = [0, 1, 2, 3].map((s) => makeSgddBatch(rows, vectors, { ...m.config, uncond_prob: 0 }, new Rng(100 + s)));
    const evalLoss = () => evalBatches.reduce((s, b) => s + tf.tidy(() => (m.batchLoss(new TfOps(m.params), b) as tf.Scalar).dataSync()[0]), 0) / evalBatches.length;
    const before = evalLoss();
    const losses = trainSteps(m, rows, vectors, { steps: 80, learningRate: 3e-3, seed: 9 });
    const after = evalLoss();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(after).toBeLessThan(0.8 * before);
    m.dispose();
  });
});
