import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '@proj/core';
import { CAUSAL_LM_PRESETS, CausalLm, initBackend, saveCausalLm } from '@proj/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../testing';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mateconv-export-'));
  await initBackend({ backend: 'cpu' });
  for (const [name, extra] of [['dense', {}], ['moe', { use_moe: true, num_experts: 4, num_experts_per_tok: 2, moe_intermediate_size: 16 }]] as const) {
    const model = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: 500, initializer_range: 0.1, ...extra }, new Rng(4));
    await saveCausalLm(model, join(dir, name));
    model.dispose();
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mateconv export', () => {
  it.each(['dense', 'moe'])('writes <model>/onnx/model.onnx with past key/values and config.json; greedy tokens on onnxruntime equal tfjs (%s)', async (name) => {
    const { code, stdout, stderr } = await cli('export', '--model', join(dir, name), '--max-length', '64', '--backend', 'cpu');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as { onnx: string; kv_cache: boolean; max_length: number; inputs: string[]; outputs: string[]; check: { tokens_equal: boolean } };
    expect(report).toMatchObject({ onnx: join(dir, name, 'onnx', 'model.onnx'), kv_cache: true, max_length: 64, check: { prompts: 3, new_tokens: 8, tokens_equal: true } });
    expect(report.inputs).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
    expect(report.outputs).toEqual(['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    expect(existsSync(join(dir, name, 'onnx', 'config.json'))).toBe(true);
    expect(stderr).toMatch(/greedy tokens on onnxruntime equal tfjs/);
  });

  it('--no-kv-cache writes the plain forward; a missing model exits 2 with one line', async () => {
    const plain = await cli('export', '--model', join(dir, 'dense'), '--output', join(dir, 'plain'), '--no-kv-cache', '--backend', 'cpu');
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ kv_cache: false, inputs: ['input_ids'], outputs: ['logits'], check: null });
    const missing = await cli('export', '--model', join(dir, 'nothing'));
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toEqual([`mateconv: --model: no config.json in ${join(dir, 'nothing')} (a pretrain final/ or checkpoint directory)`]);
  });
});
