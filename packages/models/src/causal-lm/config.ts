import { z } from 'zod';
import { configError } from '../config-issues';

const positiveInt = z.number().int('must be an integer').min(1, 'must be >= 1');

/**
 * A decoder-only LM in Llama's layout (RMSNorm, RoPE, SwiGLU, grouped-query attention, tied
 * embeddings), with Hugging Face LlamaConfig field names so config.json maps one to one. The
 * defaults are minimind's dense model (hidden 512, 8 layers, vocabulary 6,400: 25.8M parameters).
 */
export const CausalLmConfigSchema = z
  .strictObject({
    vocab_size: positiveInt.default(6400).describe('tokenizer vocabulary (minimind: 6,400)'),
    hidden_size: positiveInt.default(512).describe('model width'),
    num_hidden_layers: positiveInt.default(8).describe('decoder blocks'),
    num_attention_heads: positiveInt.default(8).describe('query heads; must divide hidden_size'),
    num_key_value_heads: positiveInt.default(2).describe('key/value heads (grouped-query attention); must divide num_attention_heads'),
    intermediate_size: positiveInt.nullable().default(null).describe("SwiGLU width; null = 64·ceil(8·hidden/3 / 64) (minimind's rule: 1,408 for 512)"),
    max_position_embeddings: positiveInt.default(32768).describe('longest sequence RoPE tables cover'),
    rms_norm_eps: z.number().positive('must be > 0').default(1e-5).describe('RMSNorm epsilon'),
    rope_theta: z.number().positive('must be > 0').default(1e6).describe('RoPE base (minimind: 1e6; Llama 2: 1e4)'),
    initializer_range: z.number().positive('must be > 0').default(0.02).describe('std of the normal initialization of weights'),
    tie_word_embeddings: z.boolean().default(true).describe('lm_head shares the token embedding matrix'),
  })
  .superRefine((c, ctx) => {
    if (c.hidden_size % c.num_attention_heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['hidden_size'], message: `hidden_size must be divisible by num_attention_heads (${c.num_attention_heads}), got ${c.hidden_size}` });
    } else if ((c.hidden_size / c.num_attention_heads) % 2 !== 0) {
      ctx.addIssue({ code: 'custom', path: ['hidden_size'], message: `head size hidden_size / num_attention_heads must be even for RoPE, got ${c.hidden_size / c.num_attention_heads}` });
    }
    if (c.num_attention_heads % c.num_key_value_heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['num_key_value_heads'], message: `num_attention_heads (${c.num_attention_heads}) must be divisible by num_key_value_heads, got ${c.num_key_value_heads}` });
    }
  })
  .transform((c) => ({ ...c, intermediate_size: c.intermediate_size ?? 64 * Math.ceil(Math.floor((8 * c.hidden_size) / 3) / 64) }));

export type CausalLmConfig = z.output<typeof CausalLmConfigSchema>;
export type CausalLmConfigInput = z.input<typeof CausalLmConfigSchema>;

/** Validates `input` and fills defaults; the error names every bad field with its value. */
export function parseCausalLmConfig(input: unknown = {}, caller = 'parseCausalLmConfig'): CausalLmConfig {
  const result = CausalLmConfigSchema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return result.data;
  throw configError(caller, 'causal LM', result.error, Object.keys(CausalLmConfigSchema.in.shape));
}

/** Named sizes: minimind's dense model, and small ones that train on 2 CPU cores. */
export const CAUSAL_LM_PRESETS = {
  /** minimind-like: hidden 512, 8 layers, 8 heads / 2 KV heads, SwiGLU 1,408, vocabulary 6,400 (25.8M). */
  'minimind-26m': {},
  /** For CPU runs and the demo: hidden 128, 4 layers, 4 heads / 2 KV heads, SwiGLU 384 (1.6M with 6,400 tokens). */
  'cpu-small': { hidden_size: 128, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 1024 },
  /** For tests: hidden 32, 2 layers, 4 heads / 2 KV heads. */
  tiny: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 },
} as const satisfies Record<string, CausalLmConfigInput>;

export type CausalLmPreset = keyof typeof CAUSAL_LM_PRESETS;
