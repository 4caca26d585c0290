import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { GapRelm } from './gap-relm';
import type { InfillerInputs, PaddedInputs } from './inputs';

// packages/models/test/fixtures/gap-relm-saved-by-ts: a Gap-ReLM saved by TS (make.ts) and
// loaded by Python (tools/reference/gap_relm_fixture.py), whose verdict is committed beside it.
const FIXTURE = fileURLToPath(new URL('../../test/fixtures/gap-relm-saved-by-ts/', import.meta.url));
const verdict = JSON.parse(readFileSync(join(FIXTURE, 'python-load-verdict.json'), 'utf8'));
const ts = JSON.parse(readFileSync(join(FIXTURE, 'ts-outputs.json'), 'utf8'));

interface Spec {
  batch: number;
  length: number;
  ids: number[];
  mask: number[];
  types: number[];
  positions?: number[];
}

const padded = (s: Spec): PaddedInputs => ({ batch: s.batch, length: s.length, inputIds: Int32Array.from(s.ids), attentionMask: Int32Array.from(s.mask), tokenTypeIds: Int32Array.from(s.types) });

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

let model: GapRelm;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = await GapRelm.load(FIXTURE);
});

afterAll(() => model?.dispose());

describe('a Gap-ReLM saved by TS, loaded by Python', () => {
  it('the verdict is about the committed checkpoint files (sha256 of each)', () => {
    for (const [file, sha] of Object.entries(verdict.sha256 as Record<string, string>)) {
      expect(createHash('sha256').update(readFileSync(join(FIXTURE, file))).digest('hex'), file).toBe(sha);
    }
    expect(Object.keys(verdict.sha256)).toEqual(['planner/model.safetensors', 'infiller/model.safetensors', 'infiller/prompt_encoder.safetensors']);
  });

  it('Python loaded every tensor: the infiller as a standard BertForMaskedLM (tied decoder), the planner and prompts by name, with TS logits within 1e-4', () => {
    expect(verdict.verdict).toBe('pass');
    expect(verdict.infiller_loading_info).toEqual({ missing_keys: [], unexpected_keys: [], mismatched_keys: [], error_msgs: [] });
    expect(verdict.infiller_decoder_tied_to_word_embeddings).toBe(true);
    expect(verdict.planner_max_abs_diff).toBeLessThan(1e-4);
    expect(verdict.infiller_max_abs_diff).toBeLessThan(1e-4);
    expect(verdict.infiller_argmax_agree).toBe(verdict.infiller_rows);
  });

  it('TS reloads it and reproduces the logits it recorded for Python', async () => {
    const { op, ins, slots } = await model.plannerRun()(padded(ts.planner));
    const rows = (data: Float32Array, width: number) => Array.from({ length: ts.planner.batch }, (_, b) => Array.from(data.subarray(b * slots * width, (b + 1) * slots * width)));
    expect(maxAbsDiff(rows(op, 3).flat(), (ts.op as number[][]).flat())).toBeLessThan(1e-5);
    expect(maxAbsDiff(rows(ins, model.config.max_insert_k + 1).flat(), (ts.insert as number[][]).flat())).toBeLessThan(1e-5);
    const x: InfillerInputs = { ...padded(ts.infiller), positions: Int32Array.from(ts.infiller.positions) };
    expect(maxAbsDiff(await model.infillerRun()(x), ts.fill)).toBeLessThan(1e-5);
  });
});
