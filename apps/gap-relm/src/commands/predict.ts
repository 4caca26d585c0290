import { AtomicFileWriter, Progress, SkipCounter } from '@proj/core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { GapRelm, OnnxGapRelm, exportGapRelmOnnx, gapRelmOnnxDir, initBackend } from '@proj/models';
import type { GapRelmDecodeConfig } from '@proj/sampling';
import { Option, type Command } from 'commander';
import { type CliIO, CliError, log, requireFile } from '../cli-io';
import { decodeConfigFrom } from '../decode-config';
import { parseIntFlag } from '../flags';
import { addBackendOption, addDecodeOptions } from '../model-flags';
import { readPairLines } from '../pairs-file';

export interface PredictCommandOptions {
  model: string;
  input?: string;
  text?: string[];
  output?: string;
  edits?: string;
  thresholds?: string;
  backend: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  /** Default tfjs: runs the model on --backend; onnx runs `<model>/onnx/` on onnxruntime-node (exported on first use). */
  engine?: 'tfjs' | 'onnx';
  /** onnxruntime execution providers, tried in order (onnx engine only; default cuda, cpu). */
  providers?: string[];
  /** onnxruntime threads per op (onnx engine; default: the core count). */
  threads?: number;
  chunk: number;
  progress: boolean;
  /** Decoding settings (see decodeConfigFrom: defaults, then --thresholds, then typed flags). */
  decode: Partial<GapRelmDecodeConfig>;
}

/**
 * Corrects sentences (--text, or one per line of --input: text, TSV, SIGHAN or JSONL, the source
 * column is read) and writes one corrected sentence per line, in input order.
 */
export async function runPredict(options: PredictCommandOptions, io: CliIO) {
  requireFile(options.model, '--model');
  const skips = new SkipCounter();
  let texts: string[];
  if (options.text !== undefined && options.text.length > 0) texts = options.text;
  else if (options.input !== undefined) {
    requireFile(options.input, '--input');
    // A malformed line still gets an output line (its raw text, uncorrected) so outputs stay line-aligned.
    texts = (await readPairLines(options.input, skips)).map((pair) => pair?.source ?? '');
  } else throw new CliError('give --input <file> or --text <sentence...>');

  // tfjs also serves the onnx engine: it reads the model directory and exports it on first use.
  const backend = await initBackend({ backend: options.backend });
  log(io, `backend: ${backend.name} (${backend.detail})`);
  let model: { correct: GapRelm['correct'] };
  let release = async () => {};
  if (options.engine === 'onnx') {
    if (!existsSync(join(gapRelmOnnxDir(options.model), 'planner.onnx')) || !existsSync(join(gapRelmOnnxDir(options.model), 'infiller.onnx'))) {
      log(io, `onnx: exported ${await exportGapRelmOnnx(options.model)}/ (planner.onnx, infiller.onnx) on first use`);
    }
    const onnx = await OnnxGapRelm.load(options.model, { executionProviders: options.providers, intraOpNumThreads: options.threads, log: (line) => log(io, line) });
    log(io, `engine: onnx (provider ${onnx.provider}, ${onnx.intraOpNumThreads} threads)`);
    model = onnx;
    release = () => onnx.release();
  } else {
    const tfjs = await GapRelm.load(options.model);
    log(io, `engine: tfjs (backend ${backend.name})`);
    model = tfjs;
    release = async () => tfjs.dispose();
  }
  log(io, `model: ${options.model}`);

  const out = options.output === undefined ? null : await AtomicFileWriter.open(options.output);
  const edits = options.edits === undefined ? null : await AtomicFileWriter.open(options.edits);
  const progress = new Progress({ label: 'predict', total: texts.length, unit: 'sent', stream: io.stderr, enabled: options.progress });
  let changed = 0;
  try {
    for (let start = 0; start < texts.length; start += options.chunk) {
      const corrections = await model.correct(texts.slice(start, start + options.chunk), options.decode);
      for (const c of corrections) {
        if (c.corrected !== c.source) changed++;
        if (out) await out.write(`${c.corrected}\n`);
        else io.stdout.write(`${c.corrected}\n`);
        if (edits) await edits.write(`${JSON.stringify(c)}\n`);
      }
      progress.tick(corrections.length);
    }
    await out?.commit();
    await edits?.commit();
  } catch (error) {
    await out?.abort();
    await edits?.abort();
    throw error;
  } finally {
    await release();
  }
  progress.finish();
  if (skips.count > 0) log(io, `predict: ${skips.summary()} (written uncorrected)`);
  log(io, `predict: ${texts.length} sentences, ${changed} changed`);
  return { sentences: texts.length, changed };
}

export function registerPredict(program: Command, io: CliIO): void {
  const command = program
    .command('predict')
    .description('Correct sentences with a trained Gap-ReLM model: one corrected sentence per line, in order')
    .requiredOption('--model <dir>', 'a model directory written by `gap-relm train` (e.g. runs/gap-relm/final)')
    .option('--input <file>', 'sentences, one per line (text, TSV, SIGHAN or JSONL: the source column)')
    .option('--text <sentence...>', 'sentences given on the command line')
    .option('--output <file>', 'write corrections here instead of stdout')
    .option('--edits <file>', 'also write JSONL {source, corrected, edits:[{position, from, to, kind, confidence}]}')
    .option('--thresholds <file>', 'decision thresholds from `gap-relm tune` (flags given here override them)')
    .option('--chunk <n>', 'sentences per progress step', parseIntFlag('--chunk', 1), 256)
    .option('--no-progress', 'no progress line on stderr')
    .addOption(new Option('--engine <name>', 'tfjs, or onnx: onnxruntime-node on <model>/onnx/ (exported there on first use)').choices(['tfjs', 'onnx']).default('tfjs'))
    .option('--providers <list>', 'onnx engine: execution providers tried in order, comma-separated', (v: string) => v.split(',').map((p) => p.trim()).filter((p) => p !== ''), ['cuda', 'cpu'])
    .option('--threads <n>', 'onnx engine: threads per op (default: the core count)', parseIntFlag('--threads', 1));
  addBackendOption(command);
  addDecodeOptions(command);
  command.action(async (opts: Omit<PredictCommandOptions, 'decode'>, cmd: Command) => {
    await runPredict({ ...opts, decode: await decodeConfigFrom(cmd, opts.thresholds) }, io);
  });
}
