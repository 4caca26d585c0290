import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng, writeFileAtomic } from '@proj/core';
import { readParameterFile, writeParameterFile } from '../ops/parameter-file';
import { parseCausalLmConfig, type CausalLmConfig } from './config';
import { CausalLm } from './model';

export const CAUSAL_LM_CONFIG_FILE = 'config.json';
export const CAUSAL_LM_WEIGHTS_FILE = 'model.safetensors';

/**
 * config.json in Hugging Face's LlamaConfig layout (model_type llama, SiLU, no attention / MLP
 * biases); a mixture-of-experts model is not a Llama, so it says minimind (its MoE field names).
 */
export function causalLmConfigToJson(config: CausalLmConfig): Record<string, unknown> {
  return {
    architectures: [config.use_moe ? 'MiniMindForCausalLM' : 'LlamaForCausalLM'],
    model_type: config.use_moe ? 'minimind' : 'llama',
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    torch_dtype: 'float32',
    ...config,
  };
}

/** Reads config.json (LlamaConfig fields; the keys we do not model are ignored), file named in errors. */
export function parseCausalLmConfigJson(json: Record<string, unknown>, file: string): CausalLmConfig {
  const known = ['vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'intermediate_size', 'max_position_embeddings', 'rms_norm_eps', 'rope_theta', 'initializer_range', 'tie_word_embeddings',
    'use_moe', 'num_experts', 'num_experts_per_tok', 'n_shared_experts', 'moe_intermediate_size', 'norm_topk_prob', 'router_aux_loss_coef'];
  return parseCausalLmConfig(Object.fromEntries(known.filter((k) => json[k] !== undefined).map((k) => [k, json[k]])), `loadCausalLm(${file})`);
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
