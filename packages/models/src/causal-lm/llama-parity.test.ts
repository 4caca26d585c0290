import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { generate } from '@proj/sampling';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { TfOps } from '../ops/tf-ops';
import { TfCausalLmSource } from './logits-source';
import { causalLmConfigToJson, loadCausalLm, parseCausalLmConfigJson } from './weights';

// Checkpoints saved by this toolkit (test/fixtures/tiny-llama/make.ts) against what transformers'
// LlamaForCausalLM computes from them (tools/reference/llama_check.py wrote expected.json).
const fixture = (path: string) => fileURLToPath(new URL(`../../test/fixtures/tiny-llama/${path}`, import.meta.url));
const inputs = JSON.parse(readFileSync(fixture('inputs.json'), 'utf8')) as { ids: number[][]; greedy_prompt: number[]; greedy_new_tokens: number };
interface Expected {
  class: string;
  loading_info: Record<string, string[]>;
  lm_head_tied: boolean;
  greedy_tokens: number[];
  logits: number[][][];
  problems: string[];
}
const expected = JSON.parse(readFileSync(fixture('expected.json'), 'utf8')) as { transformers: string; checkpoints: Record<string, Expected> };

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});

describe(`causal LM checkpoints in transformers ${expected.transformers} (LlamaForCausalLM)`, () => {
  it.each(['tied', 'untied'])('%s: loads with no missing or unexpected weights; logits within 1e-4 and the same greedy tokens', async (name) => {
    const want = expected.checkpoints[name];
    expect(want.class).toBe('LlamaForCausalLM');
    expect(want.problems).toEqual([]);
    expect(Object.values(want.loading_info).flat()).toEqual([]);
    const model = await loadCausalLm(fixture(name));
    try {
      expect(want.lm_head_tied).toBe(model.config.tie_word_embeddings);
      const ids = inputs.ids;
      const ours = tf.tidy(() => model.forward(new TfOps(model.params), tf.tensor2d(ids, [ids.length, ids[0].length], 'int32')).dataSync() as Float32Array);
      const theirs = want.logits.flat(2);
      expect(ours.length).toBe(theirs.length);
      const diff = Math.max(...theirs.map((v, k) => Math.abs(v - ours[k])));
      console.log(`${name}: max |toolkit - transformers| logits ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-4);
      // Greedy with our KV cache against transformers' generate with its own.
      const source = new TfCausalLmSource(model);
      const [tokens] = await generate([inputs.greedy_prompt], source, { maxNewTokens: inputs.greedy_new_tokens });
      source.dispose();
      expect(tokens).toEqual(want.greedy_tokens);
    } finally {
      model.dispose();
    }
  });
});

describe('config.json in LlamaConfig layout', () => {
  // What LlamaConfig(...).to_json_string() writes in transformers 5.24 (RoPE base only under rope_parameters).
  const written = { architectures: ['LlamaForCausalLM'], attention_bias: false, attention_dropout: 0.0, bos_token_id: 1, eos_token_id: 2, head_dim: 8, hidden_act: 'silu', hidden_size: 32, initializer_range: 0.02, intermediate_size: 96, max_position_embeddings: 2048, mlp_bias: false, model_type: 'llama', num_attention_heads: 4, num_hidden_layers: 2, num_key_value_heads: 2, pad_token_id: null, pretraining_tp: 1, rms_norm_eps: 1e-5, rope_parameters: { rope_theta: 1000000.0, rope_type: 'default' }, tie_word_embeddings: true, use_cache: true, vocab_size: 200 };

  it('reads what transformers writes, and round-trips its own (no MoE fields in a dense model)', () => {
    const config = parseCausalLmConfigJson(written, 'config.json');
    expect(config).toMatchObject({ vocab_size: 200, hidden_size: 32, intermediate_size: 96, num_key_value_heads: 2, rope_theta: 1e6, rms_norm_eps: 1e-5, tie_word_embeddings: true, use_moe: false });
    const json = causalLmConfigToJson(config);
    expect(json).toMatchObject({ architectures: ['LlamaForCausalLM'], model_type: 'llama', head_dim: 8, rope_theta: 1e6, rope_parameters: { rope_type: 'default', rope_theta: 1e6 } });
    expect(json).not.toHaveProperty('use_moe');
    expect(parseCausalLmConfigJson(json, 'config.json')).toEqual(config);
  });

  it.each([
    [{ rope_parameters: { rope_type: 'llama3', rope_theta: 5e5 } }, 'rope_parameters.rope_type must be "default", got "llama3"'],
    [{ attention_bias: true }, 'attention_bias must be false, got true'],
    [{ hidden_act: 'gelu' }, 'hidden_act must be "silu", got "gelu"'],
    [{ head_dim: 16 }, 'head_dim must be hidden_size / num_attention_heads = 8, got 16'],
  ])('refuses a Llama variant it does not compute: %j', (change, message) => {
    expect(() => parseCausalLmConfigJson({ ...written, ...change }, 'x/config.json')).toThrow(`loadCausalLm(x/config.json): ${message}`);
  });
});
