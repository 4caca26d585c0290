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
    use_moe: z.boolean().default(false).describe('mixture-of-experts FFN in every block instead of one SwiGLU'),
    num_experts: positiveInt.default(4).describe('routed SwiGLU experts per block (MoE)'),
    num_experts_per_tok: positiveInt.default(2).describe('experts each token is routed to, top-k (MoE)'),
    n_shared_experts: z.number().int('must be an integer').min(0, 'must be >= 0').default(1).describe('experts every token also goes through at weight 1 (MoE)'),
    moe_intermediate_size: positiveInt.nullable().default(null).describe('SwiGLU width of each expert; null = intermediate_size (MoE)'),
    norm_topk_prob: z.boolean().default(true).describe('renormalise the top-k router probabilities to sum to 1 (MoE)'),
    router_aux_loss_coef: z.number().min(0, 'must be >= 0').default(0.01).describe('weight of the load-balancing loss added to the LM loss, summed over blocks (MoE)'),
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
    if (c.num_experts_per_tok > c.num_experts) {
      ctx.addIssue({ code: 'custom', path: ['num_experts_per_tok'], message: `num_experts_per_tok must be <= num_experts (${c.num_experts}), got ${c.num_experts_per_tok}` });
    }
  })
  .transform((c) => {
    const intermediate = c.intermediate_size ?? 64 * Math.ceil(Math.floor((8 * c.hidden_size) / 3) / 64);
    return { ...c, intermediate_size: intermediate, moe_intermediate_size: c.moe_intermediate_size ?? intermediate };
  });

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
  /**
   * minimind-like MoE: the dense default with each FFN replaced by 4 routed SwiGLU experts (top-2,
   * renormalised) and 1 shared expert, each of width 576 (43,934,208 parameters; minimind's own
   * full-width 1,408 experts would make 95M at hidden 512).
   */
  'minimind-moe-45m': { use_moe: true, num_experts: 4, num_experts_per_tok: 2, n_shared_experts: 1, moe_intermediate_size: 576 },
  /** For CPU runs and the demo: hidden 128, 4 layers, 4 heads / 2 KV heads, SwiGLU 384 (1.6M with 6,400 tokens). */
  'cpu-small': { hidden_size: 128, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 1024 },
  /** MoE for CPU runs: cpu-small with 4 routed experts (top-2) and 1 shared expert of width 192. */
  'cpu-small-moe': { hidden_size: 128, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 1024, use_moe: true, num_experts: 4, num_experts_per_tok: 2, n_shared_experts: 1, moe_intermediate_size: 192 },
  /** For tests: hidden 32, 2 layers, 4 heads / 2 KV heads. */
  tiny: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128 },
} as const satisfies Record<string, CausalLmConfigInput>;

export type CausalLmPreset = keyof typeof CAUSAL_LM_PRESETS;
