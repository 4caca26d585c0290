import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseTrainConfig, type TrainConfig } from '@proj/trainer';
import { parseSgddConfig, SMALL_SGDD_CONFIG, type SgddConfig, type SgddConfigInput } from '@proj/models';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CliError } from './cli-io';

/**
 * One training phase, as a YAML or JSON file (`sgdd train --config`). Paths are relative to the
 * file. `model` takes the fields of the SGDD decoder config except the tokenizer's (vocab size and
 * special ids come from the prepared data); `train` takes @proj/trainer's fields. Unknown keys at
 * any level are errors that name them.
 */
export const PhaseConfigSchema = z.strictObject({
  phase: z.enum(['reconstruction', 'paraphrase']).describe('reconstruction: sentence → vector → same sentence; paraphrase: A → vector → B'),
  data: z.string().min(1).describe('a `sgdd prepare` output directory (train and dev splits)'),
  init_from: z.string().min(1).optional().describe('a trained SGDD model directory to start from (phase 2: the phase-1 model)'),
  init_blocks_from_encoder: z
    .boolean()
    .default(false)
    .describe("start decoder layer i's self-attention, FFN and LayerNorms (and the positions) from the frozen encoder's layer i (`SgddModel.initBlocksFromEncoder`); needs its hidden, heads and FFN sizes and no more layers than it has; not with init_from"),
  model: z.record(z.string(), z.unknown()).default({}).describe('SGDD decoder fields (hidden_size, num_hidden_layers, ...); default the small CPU config'),
  train: z.record(z.string(), z.unknown()).default({}).describe("@proj/trainer's config (epochs, batch_size, lr, ...)"),
  dev_limit: z.number().int().min(1).default(500).describe('dev examples scored for the loss at each evaluation'),
  eval: z
    .strictObject({
      samples: z.number().int().min(0).default(100).describe('dev examples decoded after training (exact match, BLEU); 0 = none'),
      steps: z.number().int().min(1).default(16).describe('MaskGIT steps'),
      guidance: z.number().min(0).default(2).describe('guidance w in cond + w(cond - uncond)'),
    })
    .prefault({}),
});

export interface PhaseConfig {
  file: string;
  phase: 'reconstruction' | 'paraphrase';
  data: string;
  init_from?: string;
  init_blocks_from_encoder: boolean;
  /** The decoder fields the file gave (checked against the SGDD schema once the tokenizer is known). */
  model: Record<string, unknown>;
  train: TrainConfig;
  dev_limit: number;
  eval: { samples: number; steps: number; guidance: number };
}

const TOKENIZER_FIELDS = ['vocab_size', 'mask_token_id', 'pad_token_id', 'cls_token_id', 'sep_token_id'];

function firstLine(e: unknown): string {
  return (e as Error).message.split('\n')[0];
}

/** Reads, parses (by extension: .yaml / .yml / .json) and validates a phase config; every error is one line naming the file. */
export async function loadPhaseConfig(file: string): Promise<PhaseConfig> {
  if (!existsSync(file)) throw new CliError(`--config: file not found: ${file}`);
  const text = await readFile(file, 'utf8');
  let raw: unknown;
  try {
    raw = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new CliError(`${file}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${firstLine(e)}`);
  }
  const parsed = PhaseConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `${i.path.length ? `${i.path.join('.')}: ` : ''}unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}` : `${i.path.join('.') || '(root)'}: ${i.message}`));
    throw new CliError(`${file}: invalid phase config: ${problems.join('; ')}`);
  }
  const c = parsed.data;
  if (c.init_from !== undefined && c.init_blocks_from_encoder) throw new CliError(`${file}: init_blocks_from_encoder applies to a new decoder; with init_from the blocks come from ${c.init_from}`);
  const given = TOKENIZER_FIELDS.filter((k) => k in c.model);
  if (given.length) throw new CliError(`${file}: model.${given[0]} comes from the encoder's tokenizer; remove it`);
  let train: TrainConfig;
  try {
    train = parseTrainConfig(c.train);
  } catch (e) {
    throw new CliError(`${file}: train: ${firstLine(e).replace(/^parseTrainConfig: /, '')}`);
  }
  const base = dirname(resolve(file));
  const rel = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return { file, phase: c.phase, data: rel(c.data), init_from: c.init_from === undefined ? undefined : rel(c.init_from), init_blocks_from_encoder: c.init_blocks_from_encoder, model: c.model, train: { ...train, output_dir: rel(train.output_dir) }, dev_limit: c.dev_limit, eval: c.eval };
}

/** The decoder config: the small CPU config, the file's fields over it, the tokenizer's fields over both. */
export function decoderConfig(model: Record<string, unknown>, tokenizer: { vocab_size: number; pad: number; cls: number; sep: number; mask: number; vectorSize: number }, file: string): SgddConfig {
  const input: SgddConfigInput = {
    ...SMALL_SGDD_CONFIG,
    semantic_size: tokenizer.vectorSize,
    ...(model as SgddConfigInput),
    vocab_size: tokenizer.vocab_size,
    pad_token_id: tokenizer.pad,
    cls_token_id: tokenizer.cls,
    sep_token_id: tokenizer.sep,
    mask_token_id: tokenizer.mask,
  };
  try {
    return parseSgddConfig(input, file);
  } catch (e) {
    throw new CliError(firstLine(e));
  }
}
