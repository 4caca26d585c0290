import { z } from 'zod';
import { configError } from '../config-issues';

const positiveInt = z.number().int('must be an integer').min(1, 'must be >= 1');
const nonNegative = z.number().min(0, 'must be >= 0').refine(Number.isFinite, 'must be finite');
const probability = z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]');

/**
 * Every knob of a Gap-ReLM model and its training losses, defaults written once. Encoder sizes
 * apply to from-scratch training; with `init_from` the checkpoint's config.json decides them
 * (both encoders start from that checkpoint). Saved beside the weights as gap_relm_config.json.
 */
export const GapRelmConfigSchema = z
  .strictObject({
    hidden_size: positiveInt.default(256).describe('from scratch: encoder width (both encoders)'),
    num_hidden_layers: positiveInt.default(4).describe('from scratch: transformer layers per encoder'),
    num_attention_heads: positiveInt.default(4).describe('from scratch: heads; must divide hidden_size'),
    intermediate_size: positiveInt.default(1024).describe('from scratch: feed-forward width'),
    max_position_embeddings: positiveInt.default(256).describe('from scratch: longest model input, prompts and [CLS]/[SEP] included'),
    init_from: z.string().min(1).nullable().default(null).describe('loaded into both encoders: a pretrained name (bge-small-zh), a Hugging Face BERT checkpoint dir (e.g. hfl/chinese-macbert-base) or an ONNX export (dir or .onnx file); null = random init'),
    max_insert_k: positiveInt.default(3).describe('most [MASK]s the planner inserts after one slot (insert head has K + 1 classes)'),
    infiller_input: z
      .enum(['source_and_template', 'template_only'])
      .default('source_and_template')
      .describe('infiller sees [CLS] source [SEP] template [SEP] (types 0/1, as ReLM) or, as an ablation, [CLS] template [SEP]'),
    infiller_positions: z
      .enum(['sequential', 'aligned'])
      .default('sequential')
      .describe("position ids of the infiller's template segment: after the source's (0..L-1 over the whole input), or aligned: each template token on the position of the source token it stands on (a [MASK] on the token it replaces; inserted tokens after their left neighbour), so the encoder's position embeddings pair the slot with the character it corrects"),
    slot_hint: z
      .enum(['none', 'source_token'])
      .default('none')
      .describe("what a template [MASK] that replaces a source token carries: nothing, or also that token's word embedding (source_token: the character written there, as BERT-CSC sees it in place; found by aligning the template to the source)"),
    template_type_init: z
      .enum(['checkpoint', 'copy_type_0'])
      .default('checkpoint')
      .describe("with init_from: the infiller's type-1 (template) token-type embedding as the checkpoint has it, or a copy of type 0 (for encoders pretrained on single segments, whose type-1 row never trained, e.g. bge-small-zh)"),
    ptuning: z.enum(['lstm', 'mlp', 'none']).default('lstm').describe('P-tuning prompt encoder: embeddings -> BiLSTM -> MLP, embeddings -> MLP, or no prompts'),
    prompt_length: z.number().int('must be an integer').min(0, 'must be >= 0').default(4).describe('virtual prompt tokens inserted after [CLS] (ignored when ptuning is none)'),
    share_prompts: z.boolean().default(true).describe('planner and infiller use one prompt encoder (else one each)'),
    share_encoder: z
      .boolean()
      .default(false)
      .describe("planner and infiller read one BERT encoder (the infiller's; the planner keeps its own heads): half the parameters, and every stage trains it. With aux_csc_weight, planner_train also trains the infiller's MLM head on that encoder with the BERT-CSC term at every source token, so what infilling needs is kept while the planner learns"),
    planner_init: z
      .enum(['encoder', 'infiller'])
      .default('encoder')
      .describe("the planner's encoder at the start of planner_train: as created (init_from or random), or a copy of the infiller's encoder (after infiller_pretrain, with aux_csc_weight, it has learnt the corrections at the source positions the planner reads)"),
    template_mask_rate: probability.default(0).describe("training only: share of the gold template's kept tokens also masked for the infiller to predict (ReLM predicts every target token); 0 = only the planner's slots"),
    aux_mlm_weight: nonNegative.default(0).describe('mu: weight of the auxiliary MLM on 15% masked source tokens through the infiller head; 0 = off'),
    aux_csc_weight: nonNegative
      .default(0)
      .describe("weight of an auxiliary BERT-CSC loss on the infiller's source segment, from the same forward pass: every source token predicts its gold token through the MLM head (itself when kept, its fill when replaced); 0 = off"),
    replace_fill: z
      .enum(['slot', 'slot_and_source'])
      .default('slot')
      .describe("decoding: how a [MASK] that replaces a source token is filled: from its own prediction, or slot_and_source: from the product of it and the prediction at the source token it replaces (log-softmax sum; both from the one forward pass), the BERT-CSC prediction aux_csc_weight trains at every source token"),
    similar_fill_bonus: nonNegative
      .default(0)
      .describe("decoding: added to the score of the fills of a [MASK] that replaces a source token that the model's similar-character table (similar_chars.json, from the confusion sets it was trained with) lists for that token, and of the token itself: a prior that learners' misspellings are near the intended character in sound or shape; 0 = off"),
    infill_weight: nonNegative.default(1).describe('lambda: weight of the infill loss in joint_finetune'),
    no_insert: z.boolean().default(false).describe('ablation: no insert loss, and decoding never inserts'),
    no_delete: z.boolean().default(false).describe('ablation: DELETE labels are not trained, and decoding never deletes'),
    dropout: probability.max(0.99, 'must be < 1').default(0.1).describe('hidden and attention dropout while training (overrides the checkpoint value)'),
    ss_start: probability.default(0).describe('joint_finetune: scheduled-sampling probability at the first step'),
    ss_end: probability.default(0.5).describe('joint_finetune: scheduled-sampling probability at the last step (linear ramp)'),
  })
  .superRefine((c, ctx) => {
    if (c.hidden_size % c.num_attention_heads !== 0) {
      ctx.addIssue({ code: 'custom', path: ['hidden_size'], message: `hidden_size must be divisible by num_attention_heads (${c.num_attention_heads}), got ${c.hidden_size}` });
    }
    if (c.aux_csc_weight > 0 && c.infiller_input !== 'source_and_template') {
      ctx.addIssue({ code: 'custom', path: ['aux_csc_weight'], message: `aux_csc_weight needs infiller_input 'source_and_template' (it predicts at the source segment), got ${c.aux_csc_weight} with '${c.infiller_input}'` });
    }
    if (c.replace_fill === 'slot_and_source' && (c.infiller_input !== 'source_and_template' || c.aux_csc_weight === 0)) {
      // Only the BERT-CSC term trains the predictions at the source positions.
      ctx.addIssue({ code: 'custom', path: ['replace_fill'], message: `replace_fill 'slot_and_source' needs infiller_input 'source_and_template' and aux_csc_weight > 0 (it reads the source positions' predictions, which only that term trains), got infiller_input '${c.infiller_input}' with aux_csc_weight ${c.aux_csc_weight}` });
    }
    if (c.share_encoder && c.planner_init === 'infiller') {
      ctx.addIssue({ code: 'custom', path: ['planner_init'], message: "planner_init 'infiller' copies the infiller's encoder into the planner's, but with share_encoder the two are one encoder: use planner_init 'encoder'" });
    }
    if (c.infiller_positions === 'aligned' && c.infiller_input !== 'source_and_template') {
      ctx.addIssue({ code: 'custom', path: ['infiller_positions'], message: `infiller_positions 'aligned' needs infiller_input 'source_and_template' (it aligns the template to the source), got '${c.infiller_input}'` });
    }
    if (c.slot_hint === 'source_token' && c.template_mask_rate > 0) {
      // A kept token masked for training would carry itself as its hint: the answer.
      ctx.addIssue({ code: 'custom', path: ['slot_hint'], message: `slot_hint 'source_token' cannot be combined with template_mask_rate ${c.template_mask_rate}: a masked kept token's hint is its own gold fill` });
    }
    if (c.ptuning === 'lstm' && c.hidden_size % 2 !== 0 && c.init_from === null) {
      // The BiLSTM has hidden_size / 2 units per direction so its output is hidden_size wide.
      ctx.addIssue({ code: 'custom', path: ['hidden_size'], message: `hidden_size must be even with ptuning 'lstm', got ${c.hidden_size}` });
    }
  });

export type GapRelmConfig = z.output<typeof GapRelmConfigSchema>;
/** What callers may pass: any subset of the fields; the rest take their defaults. */
export type GapRelmConfigInput = z.input<typeof GapRelmConfigSchema>;

/** Validates `input` and fills defaults; the error names every bad field with its value. */
export function parseGapRelmConfig(input: unknown = {}, caller = 'parseGapRelmConfig'): GapRelmConfig {
  const result = GapRelmConfigSchema.safeParse(input ?? {}, { reportInput: true });
  if (result.success) return result.data;
  throw configError(caller, 'Gap-ReLM', result.error, Object.keys(GapRelmConfigSchema.shape));
}

/** Every field at its default. */
export const defaultGapRelmConfig: GapRelmConfig = Object.freeze(parseGapRelmConfig({})) as GapRelmConfig;

/** Prompt tokens actually used (0 when P-tuning is off). */
export function promptCount(config: GapRelmConfig): number {
  return config.ptuning === 'none' ? 0 : config.prompt_length;
}
