import { statSync } from 'node:fs';
import { join } from 'node:path';
import { exportGapRelmOnnx, initBackend, writeGapRelmServingDir } from '@proj/models';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@proj/core';
import { Command } from 'commander';
import { decodeConfigFrom, MODEL_THRESHOLDS_FILE, thresholdsFor } from '../decode-config';
import { type CliIO, CliError, log, requireModelDir, requireOutputDir } from '../cli-io';
import { type BACKENDS, addBackendOption } from '../model-flags';

export interface ExportCommandOptions {
  model: string;
  /** Where to write the weights-free serving directory (none when absent). */
  output?: string;
  /** Thresholds from `gap-relm tune` shipped in the serving directory (default `<model>/thresholds.json` when there). */
  thresholds?: string;
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
  // Checked before the export: a bad file is one error line, not a serving dir without it.
  const thresholds = thresholdsFor(options.model, options.thresholds);
  if (thresholds !== undefined) await decodeConfigFrom(new Command(), thresholds);
  if (options.thresholds !== undefined && options.output === undefined) throw new CliError('--thresholds needs --output (it is copied into the serving directory)');
  const backend = await initBackend({ backend: options.backend });
  log(io, `backend: ${backend.name} (${backend.detail})`);
  const onnxDir = await exportGapRelmOnnx(options.model);
  const bytes = Object.fromEntries(['planner.onnx', 'infiller.onnx'].map((file) => [file, statSync(join(onnxDir, file)).size]));
  log(io, `export: ${onnxDir}/ planner.onnx ${bytes['planner.onnx'].toLocaleString('en-US')} bytes, infiller.onnx ${bytes['infiller.onnx'].toLocaleString('en-US')} bytes`);
  let servingFiles: string[] = [];
  if (options.output !== undefined) {
    servingFiles = await writeGapRelmServingDir(options.model, options.output);
    if (thresholds !== undefined) {
      await writeFileAtomic(join(options.output, MODEL_THRESHOLDS_FILE), await readFile(thresholds));
      servingFiles.push(MODEL_THRESHOLDS_FILE);
      log(io, `export: thresholds ${thresholds} → ${join(options.output, MODEL_THRESHOLDS_FILE)} (predict and serve use them by default)`);
    }
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
    .option('--output <dir>', 'also write the serving directory here: the ONNX graphs, configs and tokenizer, no weights')
    .option('--thresholds <file>', 'thresholds from `gap-relm tune` to ship in the serving directory as thresholds.json (default: <model>/thresholds.json when there)');
  addBackendOption(command);
  command.action(async (opts: ExportCommandOptions) => {
    await runExport(opts, io);
  });
}
