import type { ConfusionFile, CleanFormat, SynthConfig } from '@proj/data-synth';
import { SynthConfigSchema, defaultSynthConfig, parseSynthConfig } from '@proj/data-synth';
import { Option, type Command } from 'commander';
import { bundled } from './bundled-data';
import { CliError, requireFile } from './cli-io';
import { parseIntFlag, parseNumberFlag } from './flags';

const kebab = (field: string) => field.replace(/_/g, '-');
const camel = (field: string) => field.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

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

/**
 * Adds one kebab-case flag per synthesis config field (`pi_skip` → `--pi-skip`), with the
 * schema's default and description, so the defaults are written once, in @proj/data-synth.
 */
export function addSynthConfigOptions(command: Command): Command {
  for (const [field, value] of Object.entries(defaultSynthConfig)) {
    const flag = `--${kebab(field)}`;
    const schema = SynthConfigSchema.shape[field as keyof SynthConfig];
    const option = new Option(`${flag} <value>`, schema.description ?? field.replace(/_/g, ' ')).default(value);
    if (typeof value === 'string') {
      // An enum field: offer its values (the default wrapper hides them one level down).
      const inner = schema.unwrap() as unknown as { options?: string[] };
      if (inner.options) option.choices(inner.options);
    } else {
      option.argParser(parseNumberFlag(flag));
    }
    command.addOption(option);
  }
  return command;
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
    .option('--threads <n>', 'worker threads (default: all cores); outputs do not depend on it', parseIntFlag('--threads', 1))
    .option('--no-progress', 'no progress line on stderr');
}

/** Reads the config fields back out of commander's camelCase options and validates them. */
export function synthConfigFrom(opts: Record<string, unknown>): SynthConfig {
  const input = Object.fromEntries(Object.keys(defaultSynthConfig).map((field) => [field, opts[camel(field)]]));
  try {
    return parseSynthConfig(input, 'gap-relm');
  } catch (error) {
    // The schema names snake_case fields; users typed kebab-case flags.
    throw new CliError((error as Error).message.replace(/\b([a-z]+(?:_[a-z]+)+)\b/g, (m) => (m in defaultSynthConfig ? `--${kebab(m)}` : m)));
  }
}

/** The config fields at their defaults, as commander would pass them (camelCase). */
export function defaultSynthFlags(): Record<string, unknown> {
  return Object.fromEntries(Object.entries(defaultSynthConfig).map(([field, value]) => [camel(field), value]));
}

/** `builtin` selects the embedded pinyin-pro homophones; anything else is a file that must exist. */
export function confusionFilesFrom(flags: SynthInputFlags): ConfusionFile[] {
  if (flags.confusionFile.length === 1 && flags.confusionFile[0] === 'builtin') return [];
  return flags.confusionFile.map((file) => requireFile(file, '--confusion-file'));
}
