import { z } from 'zod';
import { configError } from '../config-issues';

const positiveInt = z.number().int('must be an integer').min(1, 'must be >= 1');
const nonNegativeInt = z.number().int('must be an integer').min(0, 'must be >= 0');
const probability = z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]');

/**
 * Every knob of the SGDD diffusion decoder, defaults written once (the full-size design: 6
 * bidirectional layers, hidden 512, 8 heads, FFN 2048, sequences <= 64 tokens, the vocabulary of
 * a Chinese BERT tokenizer, 1,000 diffusion steps). Saved beside the weights as sgdd_config.json.
 */
export const SgddConfigSchema = z
  .strictObject({
    vocab_size: positiveInt.default(21128).describe("the encoder tokenizer's vocabulary (bert-base-chinese / bge-small-zh: 21,128)"),
    hidden_size: positiveInt.default(512).describe('decoder width'),
    num_hidden_layers: positiveInt.default(6).describe('bidirectional decoder layers (no causal mask)'),
    num_attention_heads: positiveInt.default(8).describe('heads of the self- and cross-attention; must divide hidden_size'),
    intermediate_size: positiveInt.default(2048).describe('feed-forward width'),
    max_length: positiveInt.default(64).describe('longest token sequence (RoPE table and position embedding rows)'),
    absolute_positions: z
      .boolean()
      .default(true)
      .describe('learned absolute position embeddings [max_length, hidden] added to the token embeddings (RoPE stays in self-attention): an all-[MASK] row has identical values everywhere, and RoPE rotates queries and keys only'),
    rope: z
      .boolean()
      .default(true)
      .describe("rotary position embeddings on the self-attention queries and keys; off leaves the absolute positions alone to place tokens, as in BERT, whose copied layers (init_blocks_from_encoder) were trained without rotation"),
    memory_tokens: positiveInt
      .default(8)
      .describe('cross-attention memory: the semantic vector projected to memory_tokens x hidden_size (the null vector is as many learned tokens); 1 = one key, whose softmax is always 1'),
    semantic_size: positiveInt.default(512).describe('width of the frozen encoder vector (bge-small-zh: 512, RoBERTa-base: 768)'),
    num_timesteps: positiveInt.default(1000).describe('discrete diffusion steps T of the cosine schedule'),
    rope_theta: z.number().positive('must be > 0').default(10000).describe('RoPE base'),
    layer_norm_eps: z.number().positive('must be > 0').default(1e-5).describe('LayerNorm epsilon'),
    initializer_range: z.number().positive('must be > 0').default(0.02).describe('std of the normal init of weights and embeddings'),
    dropout: probability.max(0.99, 'must be < 1').default(0.1).describe('hidden and attention dropout while training'),
    uncond_prob: probability.default(0.1).describe('classifier-free guidance training: probability a row gets the null vector'),
    mask_token_id: nonNegativeInt.default(103).describe('[MASK] id in the tokenizer (bert-base-chinese: 103)'),
    pad_token_id: nonNegativeInt.default(0).describe('[PAD] id in the tokenizer'),
    cls_token_id: nonNegativeInt.default(101).describe('[CLS] id: rows are [CLS] tokens [SEP], and the forward process never masks either end'),
    sep_token_id: nonNegativeInt.default(102).describe('[SEP] id'),
  })
  .superRefine((c, ctx) => {
    if (!c.rope && !c.absolute_positions) ctx.addIssue({ code: 'custom', path: ['rope'], message: 'rope and absolute_positions cannot both be off: the decoder would not know where a token is' });
    if (c.hidden_size % c.num_attention_heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['hidden_size'], message: `hidden_size must be divisible by num_attention_heads (${c.num_attention_heads}), got ${c.hidden_size}` });
    } else if (c.rope && (c.hidden_size / c.num_attention_heads) % 2 !== 0) {
      ctx.addIssue({ code: 'custom', path: ['hidden_size'], message: `hidden_size / num_attention_heads must be even for RoPE, got ${c.hidden_size / c.num_attention_heads}` });
    }
    if (c.hidden_size % 2 !== 0) ctx.addIssue({ code: 'custom', path: ['hidden_size'], message: `hidden_size must be even (sinusoidal timestep embedding), got ${c.hidden_size}` });
    for (const key of ['mask_token_id', 'pad_token_id', 'cls_token_id', 'sep_token_id'] as const) {
      if (c[key] >= c.vocab_size) ctx.addIssue({ code: 'custom', path: [key], message: `${key} must be < vocab_size (${c.vocab_size}), got ${c[key]}` });
    }
    if (c.mask_token_id === c.pad_token_id) ctx.addIssue({ code: 'custom', path: ['mask_token_id'], message: `mask_token_id and pad_token_id must differ, both ${c.mask_token_id}` });
  });

export type SgddConfig = z.output<typeof SgddConfigSchema>;
/** What callers may pass: any subset of the fields; the rest take their defaults. */
export type SgddConfigInput = z.input<typeof SgddConfigSchema>;

/** Validates `input` and fills defaults; the error names every bad field with its value. */
export function parseSgddConfig(input: unknown = {}, caller = 'parseSgddConfig'): SgddConfig {
  const result = SgddConfigSchema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return result.data;
  throw configError(caller, 'SGDD', result.error, Object.keys(SgddConfigSchema.shape));
}

/**
 * The architecture of decoders saved before `absolute_positions`, `memory_tokens` and `rope` existed:
 * RoPE only, one memory vector. A saved config always carries every key (`saveSgdd` writes the
 * resolved config), so a key missing from a saved file means it predates the key; the schema's
 * defaults are the current design, for new models.
 */
export const SGDD_LEGACY_ARCHITECTURE = Object.freeze({ absolute_positions: false, memory_tokens: 1, rope: true }) satisfies SgddConfigInput;

/** A config read from a saved model (`sgdd_config.json`): keys it lacks take their legacy values, then it is validated. */
export function parseSavedSgddConfig(saved: unknown, caller: string): SgddConfig {
  const fields = saved !== null && typeof saved === 'object' && !Array.isArray(saved) ? { ...SGDD_LEGACY_ARCHITECTURE, ...saved } : saved;
  return parseSgddConfig(fields, caller);
}

/** The full-size design. */
export const defaultSgddConfig: SgddConfig = Object.freeze(parseSgddConfig({})) as SgddConfig;

/** A CPU-sized decoder (2 layers, hidden 128): minutes, not hours, on 2 cores. Pass the tokenizer's vocab_size and ids. */
export const SMALL_SGDD_CONFIG: SgddConfigInput = Object.freeze({
  hidden_size: 128,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  intermediate_size: 512,
  semantic_size: 512,
});
