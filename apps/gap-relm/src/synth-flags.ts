import type { ConfusionFile, CleanFormat, SynthConfig } from '@proj/data-synth';
import { SynthConfigSchema, defaultSynthConfig, parseSynthConfig } from '@proj/data-synth';
import { Option, type Command } from 'commander';
import { bundled } from './bundled-data';
import { requireFile } from './cli-io';
import { numberFlag } from './flags';
import { addSchemaOptions, defaultFlagValues, schemaFields, validated, valuesFromOptions } from './schema-flags';

const synthFields = () => schemaFields(SynthConfigSchema.shape, defaultSynthConfig);

/** Flags shared by `synth`, `frozen-dev` and `demo`: where clean text and confusions come from. */
export interface SynthInputFlags {
  cleanFile: string;
  cleanFileFormat: CleanFormat;
  cleanTextField: string;
  confusionFile: string[];
  outputDir: string;
  threads?: number;
  progress: boolean;
}

/** One kebab-case flag per synthesis config field (`pi_skip` → `--pi-skip`), defaults from the schema. */
export function addSynthConfigOptions(command: Command): Command {
  return addSchemaOptions(command, synthFields());
}

export function addSynthInputOptions(command: Command, defaultOutputDir: string): Command {
  return command
    .addOption(new Option('--clean-file <file>', 'clean sentences to corrupt').default(bundled.corpus, 'the bundled wiki.zh-cn.txt'))
    .addOption(new Option('--clean-file-format <format>', 'format of --clean-file').choices(['txt', 'json', 'jsonl']).default('txt'))
    .option('--clean-text-field <name>', 'string field of json/jsonl records', 'text')
    .addOption(
      new Option(
        '--confusion-file <file...>',
        'confusion sets merged in order (pycorrector same_pinyin/same_stroke or JSON); "builtin" = homophones from pinyin-pro',
      ).default([...bundled.confusionFiles], "the bundled pycorrector same_pinyin.txt and same_stroke.txt"),
    )
    .option('--output-dir <dir>', 'where outputs go', defaultOutputDir)
    .option('--threads <n>', 'worker threads (default: all cores); outputs do not depend on it', numberFlag('--threads', { integer: true, min: 1 }))
    .option('--no-progress', 'no progress line on stderr');
}

/** Reads the config fields back out of commander's options and validates them. */
export function synthConfigFrom(opts: Record<string, unknown>): SynthConfig {
  const fields = synthFields();
  return validated(fields, () => parseSynthConfig(valuesFromOptions(opts, fields), 'synthesis flags'));
}

/** The config fields at their defaults, as commander would pass them (camelCase). */
export function defaultSynthFlags(): Record<string, unknown> {
  return defaultFlagValues(synthFields());
}

/** `builtin` selects the embedded pinyin-pro homophones; anything else is a file that must exist. */
export function confusionFilesFrom(flags: SynthInputFlags): ConfusionFile[] {
  if (flags.confusionFile.length === 1 && flags.confusionFile[0] === 'builtin') return [];
  return flags.confusionFile.map((file) => requireFile(file, '--confusion-file'));
}
