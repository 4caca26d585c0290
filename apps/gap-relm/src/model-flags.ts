import { DEFAULT_GAP_RELM_DECODE_CONFIG, type GapRelmDecodeConfig } from '@proj/sampling';
import { GapRelmConfigSchema, defaultGapRelmConfig } from '@proj/models';
import { TrainConfigSchema, parseTrainConfig } from '@proj/trainer';
import { Option, type Command } from 'commander';
import { addSchemaOptions, schemaFields, type SchemaField } from './schema-flags';

export const BACKENDS = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;

export function addBackendOption(command: Command): Command {
  return command.addOption(
    new Option('--backend <name>', 'tfjs backend: auto tries tensorflow-gpu, tensorflow, wasm, then cpu').choices([...BACKENDS]).default('auto'),
  );
}

// `seed` and `max_insert_k` come from the synthesis flags (one --seed, one --max-insert-k for
// data and model); the run directory is --output-dir.
export const modelFields = (): SchemaField[] => schemaFields(GapRelmConfigSchema.shape, defaultGapRelmConfig, { exclude: ['max_insert_k'] });
export const trainFields = (): SchemaField[] =>
  schemaFields(TrainConfigSchema.shape, parseTrainConfig({}) as unknown as Record<string, unknown>, { exclude: ['output_dir', 'seed'] });

/** What each decoding setting does (the defaults live in @proj/sampling). */
const DECODE_HELP: Partial<Record<keyof GapRelmDecodeConfig, string>> = {
  deleteThreshold: 'DELETE a token only if p(DELETE) >= this',
  replaceThreshold: 'REPLACE a token only if p(REPLACE) >= this',
  insertThreshold: 'insert after a slot only if p(count >= 1) >= this',
  maxInsertsPerSentence: 'most [MASK]s inserted in one sentence (Infinity = no cap)',
  noInsert: 'ablation: never insert',
  noDelete: 'ablation: never delete',
  refinementRounds: 'extra fill rounds re-masking the least confident fills',
  refinementFraction: 'fraction of fills re-masked per refinement round',
  batchSize: 'sentences per planner / infiller call',
};

export const decodeFields = (exclude: readonly string[] = []): SchemaField[] =>
  Object.entries(DECODE_HELP)
    .filter(([key]) => !exclude.includes(key))
    .map(([key, description]) => {
    // `--batch-size` is the training batch; decoding's is `--decode-batch-size`.
    const flagName = key === 'batchSize' ? 'decode-batch-size' : key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const defaultValue = DEFAULT_GAP_RELM_DECODE_CONFIG[key as keyof GapRelmDecodeConfig];
    return {
      path: [key],
      flag: `--${flagName}`,
      key: flagName.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()),
      kind: typeof defaultValue === 'boolean' ? 'boolean' : 'number',
      defaultValue,
      description: description as string,
    };
  });

export function addDecodeOptions(command: Command, exclude: readonly string[] = []): Command {
  return addSchemaOptions(command, decodeFields(exclude));
}

/** In `train` the model config's no_insert / no_delete also govern decoding. */
export const TRAIN_DECODE_EXCLUDE = ['noInsert', 'noDelete'] as const;
