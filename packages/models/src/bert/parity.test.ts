import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { BertForMaskedLM, flatPositions } from './model';
import { loadBertForMaskedLM, saveBertCheckpoint } from './weights';

// Made by tools/reference/bert_fixture.py (transformers BertForMaskedLM, eval mode).
const FIXTURE = join(__dirname, '../../test/fixtures/tiny-bert');
interface Arr {
  shape: number[];
  values: number[];
}
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids: number[][];
  last_hidden_state: Arr;
  mlm_positions: [number, number][];
  mlm_logits: Arr;
  full_logits_input0: Arr;
};
const TOL = 1e-4;

function maxAbsDiff(actual: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(actual.length).toBe(want.length);
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(actual[i] - want[i]));
  return m;
}

function run(model: BertForMaskedLM) {
  const ops = new TfOps(model.params);
  const [b, len] = [expected.input_ids.length, expected.input_ids[0].length];
  return tf.tidy(() => {
    const out = model.forward(ops, {
      inputIds: tf.tensor2d(expected.input_ids.flat(), [b, len], 'int32'),
      attentionMask: tf.tensor2d(expected.attention_mask.flat(), [b, len], 'int32'),
      tokenTypeIds: tf.tensor2d(expected.token_type_ids.flat(), [b, len], 'int32'),
    }, { positions: tf.tensor1d(flatPositions(expected.mlm_positions, len), 'int32'), fullLogits: true });
    return {
      hidden: out.lastHiddenState.dataSync().slice(),
      logits: (out.logits as tf.Tensor).dataSync().slice(),
      full0: tf.slice(out.fullLogits as tf.Tensor, [0, 0, 0], [1, -1, -1]).dataSync().slice(),
    };
  });
}

// Report lines collected for the summary at the end (parity numbers per backend).
const report: string[] = [];
afterAll(() => console.log(`BERT parity vs transformers (tolerance ${TOL}):\n  ${report.join('\n  ')}`));

describe.each(['cpu', 'wasm'] as const)('tiny BERT parity on %s', (backend) => {
  let model: BertForMaskedLM | undefined;
  let skip = '';
  beforeAll(async () => {
    try {
      await initBackend({ backend });
    } catch (err) {
      skip = `backend ${backend} did not initialize in vitest: ${(err as Error).message}`;
      console.warn(`SKIP ${skip}`);
      return;
    }
    model = (await loadBertForMaskedLM(FIXTURE)).model;
  });
  afterAll(async () => {
    model?.dispose();
    await initBackend({ backend: 'cpu' });
  });

  it('last hidden states, MLM logits at positions and full logits match within 1e-4', (ctx) => {
    if (skip) return ctx.skip(skip);
    const got = run(model as BertForMaskedLM);
    const d = {
      hidden: maxAbsDiff(got.hidden, expected.last_hidden_state.values),
      logits: maxAbsDiff(got.logits, expected.mlm_logits.values),
      full0: maxAbsDiff(got.full0, expected.full_logits_input0.values),
    };
    report.push(`${backend}: max |diff| hidden ${d.hidden.toExponential(2)}, MLM logits ${d.logits.toExponential(2)}, full logits ${d.full0.toExponential(2)}`);
    expect(d.hidden).toBeLessThan(TOL);
    expect(d.logits).toBeLessThan(TOL);
    expect(d.full0).toBeLessThan(TOL);
    // The fixture is not degenerate: activations are O(1) and logits vary across the vocabulary.
    expect(Math.max(...expected.mlm_logits.values) - Math.min(...expected.mlm_logits.values)).toBeGreaterThan(1);
  });

  it('logits at positions equal the matching rows of the full logits', (ctx) => {
    if (skip) return ctx.skip(skip);
    const got = run(model as BertForMaskedLM);
    const vocab = model!.config.vocabSize;
    expected.mlm_positions.forEach(([b, i], k) => {
      if (b !== 0) return;
      const row = got.full0.slice(i * vocab, (i + 1) * vocab);
      expect(maxAbsDiff(got.logits.slice(k * vocab, (k + 1) * vocab), row)).toBeLessThan(1e-5);
    });
  });

  it('save -> reload round trip gives identical outputs', async (ctx) => {
    if (skip) return ctx.skip(skip);
    const dir = await mkdtemp(join(tmpdir(), 'tiny-bert-'));
    try {
      await saveBertCheckpoint(model as BertForMaskedLM, dir);
      const { model: again, report: r } = await loadBertForMaskedLM(dir);
      expect(r.ignored).toEqual([]);
      const a = run(model as BertForMaskedLM);
      const b = run(again);
      expect(maxAbsDiff(b.hidden, a.hidden)).toBe(0);
      expect(maxAbsDiff(b.logits, a.logits)).toBe(0);
      again.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
