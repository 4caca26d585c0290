import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng, writeFileAtomic } from '@proj/core';
import { readParameterFile, writeParameterFile } from '../ops/parameter-file';
import { parseCausalLmConfig, type CausalLmConfig } from './config';
import { CausalLm } from './model';

export const CAUSAL_LM_CONFIG_FILE = 'config.json';
export const CAUSAL_LM_WEIGHTS_FILE = 'model.safetensors';

/** The fields only a mixture-of-experts model writes (minimind's names). */
const MOE_FIELDS = ['use_moe', 'num_experts', 'num_experts_per_tok', 'n_shared_experts', 'moe_intermediate_size', 'norm_topk_prob', 'router_aux_loss_coef'] as const;

/**
 * config.json as transformers' LlamaConfig writes it (model_type llama, SiLU, no attention / MLP
 * biases, head_dim, the RoPE base both as rope_theta, which transformers 4.x reads, and as 5.x's
 * rope_parameters), so `LlamaForCausalLM.from_pretrained` loads the directory
 * (tools/reference/llama_check.py). A mixture-of-experts model is not a Llama: it says minimind
 * and adds minimind's MoE fields.
 */
export function causalLmConfigToJson(config: CausalLmConfig): Record<string, unknown> {
  const { use_moe: moe } = config;
  const llama = Object.fromEntries(Object.entries(config).filter(([k]) => moe || !(MOE_FIELDS as readonly string[]).includes(k)));
  return {
    architectures: [moe ? 'MiniMindForCausalLM' : 'LlamaForCausalLM'],
    model_type: moe ? 'minimind' : 'llama',
    hidden_act: 'silu',
    attention_bias: false,
    attention_dropout: 0,
    mlp_bias: false,
    head_dim: config.hidden_size / config.num_attention_heads,
    pretraining_tp: 1,
    ...llama,
    rope_parameters: { rope_type: 'default', rope_theta: config.rope_theta },
    dtype: 'float32',
    torch_dtype: 'float32',
  };
}

/**
 * Reads config.json (LlamaConfig fields, from this toolkit or transformers; the keys we do not
 * model are ignored), file named in errors. A Llama variant this model does not compute (another
 * RoPE type, biases, another activation or head size) is refused rather than loaded wrongly.
 */
export function parseCausalLmConfigJson(json: Record<string, unknown>, file: string): CausalLmConfig {
  const where = `loadCausalLm(${file})`;
  const rope = json.rope_parameters as { rope_type?: string; rope_theta?: number } | undefined;
  if (rope?.rope_type !== undefined && rope.rope_type !== 'default') throw new RangeError(`${where}: rope_parameters.rope_type must be "default", got ${JSON.stringify(rope.rope_type)}`);
  for (const [key, want] of [['hidden_act', 'silu'], ['attention_bias', false], ['mlp_bias', false]] as const) {
    if (json[key] !== undefined && json[key] !== want) throw new RangeError(`${where}: ${key} must be ${JSON.stringify(want)}, got ${JSON.stringify(json[key])}`);
  }
  const known = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'max_position_embeddings', 'rms_norm_eps', 'rope_theta', 'initializer_range', 'tie_word_embeddings', ...MOE_FIELDS];
  const fields: Record<string, unknown> = Object.fromEntries(known.filter((k) => json[k] !== undefined).map((k) => [k, json[k]]));
  if (fields.rope_theta === undefined && rope?.rope_theta !== undefined) fields.rope_theta = rope.rope_theta;
  const config = parseCausalLmConfig(fields, where);
  if (json.head_dim !== undefined && json.head_dim !== null && json.head_dim !== config.hidden_size / config.num_attention_heads) {
    throw new RangeError(`${where}: head_dim must be hidden_size / num_attention_heads = ${config.hidden_size / config.num_attention_heads}, got ${JSON.stringify(json.head_dim)}`);
  }
  return config;
}

/** Writes config.json and model.safetensors (parameter names as LlamaForCausalLM's) into `dir`, atomically. */
export async function saveCausalLm(model: CausalLm, dir: string): Promise<void> {
  await writeParameterFile(model.params, join(dir, CAUSAL_LM_WEIGHTS_FILE));
  await writeFileAtomic(join(dir, CAUSAL_LM_CONFIG_FILE), `${JSON.stringify(causalLmConfigToJson(model.config), null, 2)}\n`);
}

/** Reads model.safetensors from `dir` into the model's Variables (a tied lm_head.weight in the file is ignored). */
export async function loadCausalLmWeights(model: CausalLm, dir: string): Promise<void> {
  const ignore = (name: string) => name === 'lm_head.weight' && model.config.tie_word_embeddings;
  await readParameterFile(model.params, join(dir, CAUSAL_LM_WEIGHTS_FILE), 'loadCausalLmWeights', ignore);
}

/** A model saved by `saveCausalLm`: its config.json, then its weights. */
export async function loadCausalLm(dir: string): Promise<CausalLm> {
  const file = join(dir, CAUSAL_LM_CONFIG_FILE);
  const model = CausalLm.random(parseCausalLmConfigJson(JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>, file), new Rng(0));
  try {
    await loadCausalLmWeights(model, dir);
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
