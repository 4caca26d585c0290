import { readFile } from 'node:fs/promises';
import { SkipCounter } from '@proj/core';
import { existsSync } from 'node:fs';
import type { BackendChoice } from '@proj/models';
import { Option, type Command } from 'commander';
import { CliError, type CliIO } from '../cli-io';
import { tokenizeBounded } from '../data';
import { ENGINE_CHOICES, openSampler, rowStreams, type EngineChoice } from '../engine';
import { idsToText } from '../evaluate';
import { numberFlag } from '../flags';
import { loadModel } from '../load-model';

/** The sampling flags `sample` and `eval` share (addSamplingOptions). */
export interface SamplingFlags {
  steps: number;
  guidance: number;
  temperature: number;
  seed: number;
  engine: EngineChoice;
  backend: BackendChoice;
  batchSize: number;
  /** The onnxruntime decoder's weight MatMuls in int8. */
  int8?: boolean;
}

export interface SampleOptions extends SamplingFlags {
  model: string;
  text?: string[];
  input?: string;
  json: boolean;
}

export interface SampleRow {
  source: string;
  output: string;
  truncated: boolean;
}

/**
 * Reconstructs (a phase-1 model) or paraphrases (phase 2) each text: encode it with the frozen
 * encoder, then MaskGIT-decode as many tokens as the source has, guided by its vector.
 */
export async function runSample(o: SampleOptions, io: CliIO): Promise<SampleRow[]> {
  if (o.text === undefined && o.input === undefined) throw new CliError('give --text or --input');
  if (o.input !== undefined && !existsSync(o.input)) throw new CliError(`--input: file not found: ${o.input}`);
  const texts = [...(o.text ?? []), ...(o.input === undefined ? [] : (await readFile(o.input, 'utf8')).split('\n'))].map((t) => t.trim()).filter((t) => t !== '');
  if (texts.length === 0) throw new CliError('no non-empty text to sample from');
  const m = await loadModel(o.model, '--model', o.engine, o.backend, io);
  const sampler = await openSampler(m.model, o.model, o.engine, io, m.backend, { int8: o.int8 }).catch(async (error: unknown) => {
    await m.dispose();
    throw error;
  });
  try {
    const truncated = new SkipCounter();
    const rows: SampleRow[] = [];
    for (let i = 0; i < texts.length; i += o.batchSize) {
      const batch = texts.slice(i, i + o.batchSize);
      const cut: boolean[] = [];
      const ids = batch.map((t, j) => {
        const before = truncated.count;
        const row = tokenizeBounded(m.tokenizer, t, m.model.config.max_length, `text ${i + j + 1}`, { refuse: false, truncated });
        cut.push(truncated.count > before);
        return row;
      });
      const vectors = await m.encoder.encode(ids);
      const out = await sampler.sample(vectors, ids.map((r) => r.length), { steps: o.steps, guidance: o.guidance, temperature: o.temperature, rng: rowStreams(o.seed + i, ids.length) });
      batch.forEach((t, j) => rows.push({ source: t, output: idsToText(m.tokenizer, out[j]), truncated: cut[j] }));
    }
    if (truncated.count) io.stderr.write(`sample: ${truncated.count} text(s) over ${m.model.config.max_length} tokens were truncated\n`);
    return rows;
  } finally {
    await sampler.release();
    await m.dispose();
  }
}

/**
 * The sampling flags. `engines`: the --engine choices, the first the default; `sample` and `eval`
 * give all three (auto first), `serve` onnx or tfjs; `openSampler` resolves them.
 */
export function addSamplingOptions(command: Command, engines: readonly EngineChoice[] = ['onnx', 'tfjs']): Command {
  const engineHelp: Record<EngineChoice, string> = {
    auto: 'auto = onnx unless onnxruntime cannot run the decoder',
    onnx: `onnx (onnxruntime: ${engines.includes('auto') ? '<model>/onnx/decoder.onnx, else ' : ''}the weights exported in memory)`,
    tfjs: 'tfjs (--backend)',
  };
  return command
    .option('--steps <n>', 'MaskGIT steps', numberFlag('--steps', { integer: true, min: 1 }), 16)
    .option('--guidance <w>', 'classifier-free guidance w in cond + w(cond - uncond); 0 = plain conditional', numberFlag('--guidance', { min: 0 }), 2)
    .option('--temperature <t>', 'candidate sampling temperature; 0 = argmax (then --seed does not matter)', numberFlag('--temperature', { min: 0 }), 0)
    .option('--seed <n>', 'sampling seed (per row: a row does not depend on its batch)', numberFlag('--seed', { integer: true }), 42)
    .addOption(new Option('--engine <name>', `decoder engine: ${engines.map((e) => engineHelp[e]).join('; ')}`).choices([...engines]).default(engines[0]))
    .addOption(new Option('--backend <name>', 'tfjs backend (computes with --engine tfjs; holds the weights otherwise)').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .option('--batch-size <n>', 'sentences per decoder call', numberFlag('--batch-size', { integer: true, min: 1 }), 32)
    .option('--int8', "onnxruntime decoder with its weight MatMuls in int8 (dynamic quantization): faster, not bit-equal to float, and a row can change with the rows it shares a call with", false);
}

export function registerSample(program: Command, io: CliIO): void {
  const command = program
    .command('sample')
    .description('Reconstruct or paraphrase sentences with a trained model: one line out per text in (--json for records)')
    .requiredOption('--model <dir>', 'a trained model directory (<run>/best or <run>/final)')
    .option('--text <text...>', 'sentences to sample from')
    .option('--input <file>', 'one sentence per line (empty lines skipped)')
    .option('--json', 'JSON records {source, output, truncated} instead of lines', false);
  addSamplingOptions(command, ENGINE_CHOICES).action(async (opts: SampleOptions) => {
    const rows = await runSample(opts, io);
    io.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : rows.map((r) => `${r.output}\n`).join(''));
  });
}
