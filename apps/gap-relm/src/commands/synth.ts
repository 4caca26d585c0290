import { join } from 'node:path';
import { synthesizeFile, type SynthSummary } from '@proj/data-synth';
import { Option, type Command } from 'commander';
import { type CliIO, log, requireFile, requireOutputDir } from '../cli-io';
import { numberFlag } from '../flags';
import { addSynthConfigOptions, addSynthInputOptions, confusionFilesFrom, synthConfigFrom, type SynthInputFlags } from '../synth-flags';

export interface SynthCommandOptions extends SynthInputFlags {
  mode: 'static' | 'online';
  epoch: number;
  [field: string]: unknown;
}

export async function runSynth(options: SynthCommandOptions, io: CliIO): Promise<SynthSummary & { output: string }> {
  const config = synthConfigFrom(options);
  requireFile(options.cleanFile, '--clean-file');
  requireOutputDir(options.outputDir, '--output-dir');
  const output = join(options.outputDir, options.mode === 'static' ? 'train.jsonl' : `train.epoch-${options.epoch}.jsonl`);
  log(io, `synth: ${options.cleanFile} → ${output} (${options.mode}${options.mode === 'online' ? ` epoch ${options.epoch}` : ''}, seed ${config.seed})`);
  const summary = await synthesizeFile({
    cleanFile: options.cleanFile,
    format: options.cleanFileFormat,
    textField: options.cleanTextField,
    outputFile: output,
    config,
    confusionFiles: confusionFilesFrom(options),
    mode: options.mode === 'static' ? { kind: 'static' } : { kind: 'online', epoch: options.epoch },
    threads: options.threads,
    progress: options.progress,
  });
  for (const example of summary.skipped.examples) log(io, `  skipped ${example}`);
  return { output, ...summary };
}

export function registerSynth(program: Command, io: CliIO, report: (result: unknown) => void): void {
  const command = program
    .command('synth')
    .description('Synthesize training data: corrupt clean sentences with seeded errors and write precomputed JSONL')
    .addOption(
      new Option('--mode <mode>', 'static: num-negative corrupted copies + the positive per sentence; online: one epoch, p-corrupt per sentence')
        .choices(['static', 'online'])
        .default('static'),
    )
    .option('--epoch <n>', 'epoch number for --mode online (each epoch draws different errors)', numberFlag('--epoch', { integer: true, min: 0 }), 0);
  addSynthInputOptions(command, 'runs/synth');
  addSynthConfigOptions(command);
  command.action(async (opts: SynthCommandOptions) => report(await runSynth(opts, io)));
}
