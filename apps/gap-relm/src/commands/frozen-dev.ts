import { join } from 'node:path';
import { generateFrozenDev, type SynthSummary } from '@proj/data-synth';
import type { Command } from 'commander';
import { type CliIO, log, requireFile, requireOutputDir } from '../cli-io';
import { numberFlag } from '../flags';
import { addSynthConfigOptions, addSynthInputOptions, confusionFilesFrom, synthConfigFrom, type SynthInputFlags } from '../synth-flags';

export interface FrozenDevCommandOptions extends SynthInputFlags {
  numSamples: number;
  [field: string]: unknown;
}

export async function runFrozenDev(options: FrozenDevCommandOptions, io: CliIO): Promise<SynthSummary & { output: string }> {
  const config = synthConfigFrom(options);
  requireFile(options.cleanFile, '--clean-file');
  requireOutputDir(options.outputDir, '--output-dir');
  const output = join(options.outputDir, 'dev.jsonl');
  log(io, `frozen-dev: ${options.numSamples} samples from ${options.cleanFile} → ${output} (seed ${config.seed})`);
  const summary = await generateFrozenDev({
    cleanFile: options.cleanFile,
    format: options.cleanFileFormat,
    textField: options.cleanTextField,
    outputFile: output,
    numSamples: options.numSamples,
    config,
    confusionFiles: confusionFilesFrom(options),
  });
  for (const example of summary.skipped.examples) log(io, `  skipped ${example}`);
  return { output, ...summary };
}

export function registerFrozenDev(program: Command, io: CliIO, report: (result: unknown) => void): void {
  const command = program
    .command('frozen-dev')
    .description('Write a frozen dev set: the same seed and clean file give the same file, byte for byte')
    .option('--num-samples <n>', 'sentences to sample from --clean-file', numberFlag('--num-samples', { integer: true, min: 1 }), 1000);
  addSynthInputOptions(command, 'runs/synth');
  addSynthConfigOptions(command);
  command.action(async (opts: FrozenDevCommandOptions) => report(await runFrozenDev(opts, io)));
}
