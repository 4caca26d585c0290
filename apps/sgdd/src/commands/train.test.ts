import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CapturedIO, Rng } from '@proj/core';
import { BertTokenizer, SgddModel, initBackend, loadBertCheckpoint, type BertModel } from '@proj/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrepareInfo } from '../data';
import { loadPhaseConfig } from '../phase-config';
import { createDecoder } from './train';

// The tiny committed BERT (hidden 32, 4 heads, FFN 64, 2 layers, 64 positions) is the frozen encoder.
const TINY_BERT = fileURLToPath(new URL('../../../../packages/models/test/fixtures/tiny-bert', import.meta.url));

let dir: string;
let info: PrepareInfo;
let bert: Awaited<ReturnType<typeof loadBertCheckpoint>>['model'];
let encoder: BertModel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdd-create-'));
  await initBackend({ backend: 'cpu' });
  const t = await BertTokenizer.fromDirectory(TINY_BERT);
  info = { task: 'reconstruction', input: 'test', encoder: 'tiny-bert', encoder_dir: TINY_BERT, vector_size: 32, vocab_size: t.vocab.size, max_length: 64, special_ids: { pad: t.padId, cls: t.clsId, sep: t.sepId, mask: t.maskId }, splits: {}, skipped: 0, truncated: 0 };
  ({ model: bert } = await loadBertCheckpoint(TINY_BERT));
  encoder = 'bert' in bert ? bert.bert : bert;
});
afterAll(async () => {
  bert.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** A phase config at the encoder's block shape, with `extra` lines. */
async function phase(name: string, model: string, extra = '') {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `phase: reconstruction\ndata: prepared\nmodel: { ${model} }\ntrain: { max_steps: 4, seed: 42, output_dir: run }\n${extra}\n`);
  return { file, pc: await loadPhaseConfig(file) };
}
const FITS = 'hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 64, dropout: 0, max_length: 16';

describe('createDecoder', () => {
  it('init_blocks_from_encoder: true copies the encoder layers into the decoder blocks; everything else is the seeded model of the key off, which is SgddModel.random + word embeddings', async () => {
    const on = await phase('on', FITS, 'init_blocks_from_encoder: true');
    const off = await phase('off', FITS);
    expect([on.pc.init_blocks_from_encoder, off.pc.init_blocks_from_encoder]).toEqual([true, false]);
    const io = new CapturedIO();
    const [a, b] = [await createDecoder(on.pc, info, on.file, io), await createDecoder(off.pc, info, off.file, new CapturedIO())];
    expect(io.stderrText).toContain("train: decoder layers 0-1 initialised from the encoder's (2 layers, hidden 32, 4 heads, FFN 64), positions too");
    const p = encoder.prefix;
    const pairs = [
      ['layers.0.self_attention.query.weight', 'encoder.layer.0.attention.self.query.weight'],
      ['layers.1.self_attention.value.bias', 'encoder.layer.1.attention.self.value.bias'],
      ['layers.1.self_attention.output.weight', 'encoder.layer.1.attention.output.dense.weight'],
      ['layers.0.ffn.intermediate.weight', 'encoder.layer.0.intermediate.dense.weight'],
      ['layers.1.ffn.output.bias', 'encoder.layer.1.output.dense.bias'],
      ['layers.1.ffn_norm.weight', 'encoder.layer.1.attention.output.LayerNorm.weight'],
      ['layers.1.self_attention_norm.bias', 'encoder.layer.0.output.LayerNorm.bias'],
      ['final_norm.weight', 'encoder.layer.1.output.LayerNorm.weight'],
    ];
    for (const [ours, theirs] of pairs) {
      expect(await a.params.toFloat32(ours), ours).toEqual(await encoder.params.toFloat32(p + theirs));
      expect(await b.params.toFloat32(ours), ours).not.toEqual(await a.params.toFloat32(ours));
    }
    const [positions, types] = [await encoder.params.toFloat32(`${p}embeddings.position_embeddings.weight`), await encoder.params.toFloat32(`${p}embeddings.token_type_embeddings.weight`)];
    expect(await a.params.toFloat32('embeddings.position_embeddings.weight')).toEqual(Float32Array.from({ length: 16 * 32 }, (_, k) => positions[k] + types[k % 32]));
    for (const name of ['layers.0.cross_attention.query.weight', 'time_embedding.linear_2.weight', 'semantic_projection.weight', 'null_semantic', 'output_bias', 'embeddings.word_embeddings.weight']) {
      expect(await a.params.toFloat32(name), name).toEqual(await b.params.toFloat32(name));
    }
    // Key off: seeded as before this key existed, the word embeddings copied as before.
    const seeded = SgddModel.random(b.config, new Rng(42));
    for (const name of b.params.names().filter((n) => n !== 'embeddings.word_embeddings.weight')) expect(await b.params.toFloat32(name), name).toEqual(await seeded.params.toFloat32(name));
    expect(await b.params.toFloat32('embeddings.word_embeddings.weight')).toEqual(await encoder.params.toFloat32(`${p}embeddings.word_embeddings.weight`));
    [a, b, seeded].forEach((m) => m.dispose());
  });

  it.each([
    ['the small default decoder', 'dropout: 0', "hidden_size 128 vs the encoder's 32; intermediate_size 512 vs the encoder's 64"],
    ['more layers than the encoder', FITS.replace('num_hidden_layers: 2', 'num_hidden_layers: 3'), "num_hidden_layers 3 > the encoder's 2"],
    ['other heads and FFN', FITS.replace('num_attention_heads: 4', 'num_attention_heads: 8').replace('intermediate_size: 64', 'intermediate_size: 128'), "num_attention_heads 8 vs the encoder's 4; intermediate_size 128 vs the encoder's 64"],
  ])('a shape mismatch (%s) is one error naming the key, the file and both shapes', async (_what, model, message) => {
    const { file, pc } = await phase('bad', model, 'init_blocks_from_encoder: true');
    const error = await createDecoder(pc, info, file, new CapturedIO()).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(`${file}: init_blocks_from_encoder: the encoder's layers do not fit the decoder: ${message}`);
    expect((error as Error).message).toContain('(encoder tiny-bert: 2 layers, hidden 32, 4 heads, FFN 64)');
  });

  it('with init_from the key is an error at load; a non-boolean is a config error naming it', async () => {
    await expect(phase('both', FITS, 'init_from: model\ninit_blocks_from_encoder: true')).rejects.toThrow(/init_blocks_from_encoder applies to a new decoder; with init_from the blocks come from model/);
    await expect(phase('typo', FITS, 'init_blocks_from_encoder: yes please')).rejects.toThrow(/invalid phase config: init_blocks_from_encoder: /);
  });
});
