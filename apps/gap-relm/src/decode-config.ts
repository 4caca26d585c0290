import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type GapRelmDecodeConfig, resolveGapRelmDecodeConfig } from '@proj/sampling';
import type { Command } from 'commander';
import { CliError, requireFile } from './cli-io';
import { decodeFields } from './model-flags';
import { validated } from './schema-flags';

/**
 * Decoding settings for predict/tune/serve: the library defaults, then a thresholds file written by
 * `gap-relm tune`, then the flags the user actually typed (commander fills every flag with its
 * default, so only values whose source is the command line override the file). Checked here, at
 * start-up, so a bad value is one error line naming the flag or the file, never a failure at the
 * first sentence (or a server that reports healthy and fails every request).
 */
export async function decodeConfigFrom(command: Command, thresholdsFile?: string): Promise<Partial<GapRelmDecodeConfig>> {
  let config: Partial<GapRelmDecodeConfig> = {};
  if (thresholdsFile !== undefined) {
    requireFile(thresholdsFile, '--thresholds');
    try {
      const saved = JSON.parse(await readFile(thresholdsFile, 'utf8')) as { bestConfig?: Partial<GapRelmDecodeConfig> };
      if (saved === null || typeof saved !== 'object' || saved.bestConfig === null || typeof saved.bestConfig !== 'object') throw new Error('no "bestConfig" object');
      const { deleteThreshold, insertThreshold, replaceThreshold } = saved.bestConfig;
      config = { deleteThreshold, insertThreshold, replaceThreshold };
      resolveGapRelmDecodeConfig(config, 'bestConfig');
    } catch (error) {
      throw new CliError(`--thresholds: ${thresholdsFile}: ${(error as Error).message}`);
    }
  }
  const opts = command.opts();
  for (const field of decodeFields()) {
    // The setting's name is its path (`batchSize`); the commander key is the flag's (`decodeBatchSize`).
    if (command.getOptionValueSource(field.key) === 'cli') (config as Record<string, unknown>)[field.path[0]] = opts[field.key];
  }
  checkDecodeConfig(config);
  return config;
}

/** What `export --output` ships beside the graphs, and predict / serve read when no --thresholds is given. */
export const MODEL_THRESHOLDS_FILE = 'thresholds.json';

/** --thresholds as given, else `<model>/thresholds.json` when the model directory carries one. */
export function thresholdsFor(model: string, given: string | undefined): string | undefined {
  if (given !== undefined) return given;
  const shipped = join(model, MODEL_THRESHOLDS_FILE);
  return existsSync(shipped) ? shipped : undefined;
}

/** Validates decoding settings at start-up; errors name the flag (`--delete-threshold must be in [0, 1], got 2`). */
export function checkDecodeConfig(config: Partial<GapRelmDecodeConfig>): void {
  validated(decodeFields(), () => resolveGapRelmDecodeConfig(config, 'decoding'));
}
