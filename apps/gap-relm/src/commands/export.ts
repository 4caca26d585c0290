import { statSync } from 'node:fs';
import { join } from 'node:path';
import { exportGapRelmOnnx, initBackend, writeGapRelmServingDir } from '@proj/models';
import type { Command } from 'commander';
import { type CliIO, log, requireModelDir, requireOutputDir } from '../cli-io';
import { type BACKENDS, addBackendOption } from '../model-flags';

export interface ExportCommandOptions {
  model: string;
  /** Where to write the weights-free serving directory (none when absent). */
  output?: string;
  backend: (typeof BACKENDS)[number];
}

export interface ExportResult {
  onnxDir: string;
  /** Bytes of each graph. */
  bytes: Record<string, number>;
  servingDir: string | null;
  servingFiles: string[];
}

/**
 * Exports `<model>/onnx/{planner,infiller}.onnx` (replacing an earlier export) and, with
 * `--output`, copies what serving needs (graphs, configs, tokenizer; no weights) there.
 * Prints the result as JSON on stdout.
 */
export async function runExport(options: ExportCommandOptions, io: CliIO): Promise<ExportResult> {
  requireModelDir(options.model, '--model');
  if (options.output !== undefined) requireOutputDir(options.output, '--output');
  const backend = await initBackend({ backend: options.backend });
  log(io, `backend: ${backend.name} (${backend.detail})`);
  const onnxDir = await exportGapRelmOnnx(options.model);
  const bytes = Object.fromEntries(['planner.onnx', 'infiller.onnx'].map((file) => [file, statSync(join(onnxDir, file)).size]));
  log(io, `export: ${onnxDir}/ planner.onnx ${bytes['planner.onnx'].toLocaleString('en-US')} bytes, infiller.onnx ${bytes['infiller.onnx'].toLocaleString('en-US')} bytes`);
  let servingFiles: string[] = [];
  if (options.output !== undefined) {
    servingFiles = await writeGapRelmServingDir(options.model, options.output);
    log(io, `export: serving directory ${options.output}/ (${servingFiles.length} files, no weights): gap-relm serve --model ${options.output}`);
  }
  const result: ExportResult = { onnxDir, bytes, servingDir: options.output ?? null, servingFiles };
  io.stdout.write(`${JSON.stringify(result)}\n`);
  return result;
}

export function registerExport(program: Command, io: CliIO): void {
  const command = program
    .command('export')
    .description('Export a trained Gap-ReLM model to ONNX (<model>/onnx/) and, with --output, write a weights-free directory that `serve` and `predict --engine onnx` run from')
    .requiredOption('--model <dir>', 'a model directory written by `gap-relm train` (e.g. runs/gap-relm/final)')
    .option('--output <dir>', 'also write the serving directory here: the ONNX graphs, configs and tokenizer, no weights');
  addBackendOption(command);
  command.action(async (opts: ExportCommandOptions) => {
    await runExport(opts, io);
  });
}
