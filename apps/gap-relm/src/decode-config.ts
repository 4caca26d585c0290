import { readFile } from 'node:fs/promises';
import type { GapRelmDecodeConfig } from '@proj/sampling';
import type { Command } from 'commander';
import { CliError, requireFile } from './cli-io';
import { decodeFields } from './model-flags';

/**
 * Decoding settings for predict/tune: the library defaults, then a thresholds file written by
 * `gap-relm tune`, then the flags the user actually typed (commander fills every flag with its
 * default, so only values whose source is the command line override the file).
 */
export async function decodeConfigFrom(command: Command, thresholdsFile?: string): Promise<Partial<GapRelmDecodeConfig>> {
  let config: Partial<GapRelmDecodeConfig> = {};
  if (thresholdsFile !== undefined) {
    requireFile(thresholdsFile, '--thresholds');
    try {
      const saved = JSON.parse(await readFile(thresholdsFile, 'utf8')) as { bestConfig?: Partial<GapRelmDecodeConfig> };
      if (saved.bestConfig === undefined || typeof saved.bestConfig !== 'object') throw new Error('no "bestConfig" object');
      const { deleteThreshold, insertThreshold, replaceThreshold } = saved.bestConfig;
      config = { deleteThreshold, insertThreshold, replaceThreshold };
    } catch (error) {
      throw new CliError(`--thresholds: ${thresholdsFile}: ${(error as Error).message}`);
    }
  }
  const opts = command.opts();
  for (const field of decodeFields()) {
    if (command.getOptionValueSource(field.key) === 'cli') (config as Record<string, unknown>)[field.key] = opts[field.key];
  }
  return config;
}
