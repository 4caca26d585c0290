import { existsSync, statSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng, writeFileAtomic } from '@proj/core';
import { OnnxSgddDenoiser, SGDD_CONFIG_FILE, SgddDenoiser, createOnnxSession, sgddDecoderToOnnx } from '@proj/models';
import type { Command } from 'commander';
import { CliError, type CliIO } from '../cli-io';
import { SGDD_APP_FILE } from '../encoder';
import { loadModel } from '../load-model';

export interface ExportOptions {
  model: string;
  output?: string;
}

export interface ExportSummary {
  output: string;
  files: string[];
  /** Max |ONNX − tfjs| over the logits of a seeded random half-masked batch, both guidance passes. */
  parity_max_abs_diff: number;
}

/**
 * Writes the decoder (`decoder.onnx`: input_ids, attention_mask, timesteps, semantic, condition,
 * positions → logits at those positions; `sample` and `eval` run it) and the frozen encoder
 * (`encoder.onnx`: ids → sentence_embedding) with the configs and tokenizer into `--output`
 * (default <model>/onnx), then checks the decoder on onnxruntime against the tfjs forward on a
 * seeded batch.
 */
export async function runExport(o: ExportOptions, io: CliIO): Promise<ExportSummary> {
  const out = o.output ?? join(o.model, 'onnx');
  if (existsSync(out) && !statSync(out).isDirectory()) throw new CliError(`--output: ${out} is a file, expected a directory`);
  const m = await loadModel(o.model, '--model', 'tfjs', 'cpu', { ...io, stderr: { write: () => true } as unknown as CliIO['stderr'] });
  try {
    await mkdir(out, { recursive: true });
    const decoder = await sgddDecoderToOnnx(m.model);
    await writeFileAtomic(join(out, 'decoder.onnx'), decoder);
    await writeFileAtomic(join(out, 'encoder.onnx'), m.encoder.onnx);
    const files = ['decoder.onnx', 'encoder.onnx'];
    for (const f of [SGDD_CONFIG_FILE, SGDD_APP_FILE, 'tokenizer.json', 'vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
      if (existsSync(join(o.model, f))) {
        await copyFile(join(o.model, f), join(out, f));
        files.push(f);
      }
    }
    // Parity on a seeded batch: 3 rows of length 7, half the inner positions masked.
    const c = m.model.config;
    const rng = new Rng(7);
    const vectors = Array.from({ length: 3 }, () => Float32Array.from({ length: c.semantic_size }, () => rng.normal()));
    const tokens = Int32Array.from({ length: 21 }, (_, i) => (i % 7 === 0 ? c.cls_token_id : i % 7 === 6 ? c.sep_token_id : rng.float() < 0.5 ? c.mask_token_id : 1 + rng.int(c.vocab_size - 1)));
    const { session } = await createOnnxSession(decoder, { executionProviders: ['cpu'] });
    let diff = 0;
    for (const conditional of [true, false]) {
      const batch = { batch: 3, length: 7, tokens, lengths: Int32Array.from([7, 7, 7]), step: 0, steps: 1, maskedFraction: Float64Array.from([0.5, 0.5, 0.5]), conditional };
      const [a, b] = [await new OnnxSgddDenoiser(session, c, vectors).denoise(batch), await new SgddDenoiser(m.model, vectors).denoise(batch)];
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - b[i]));
    }
    await session.release();
    io.stderr.write(`export: ${out} (${files.join(', ')}); decoder parity max |onnx - tfjs| = ${diff.toExponential(2)}\n`);
    if (!(diff < 1e-4)) throw new Error(`export: the ONNX decoder differs from tfjs by ${diff} (> 1e-4)`);
    return { output: out, files, parity_max_abs_diff: diff };
  } finally {
    await m.dispose();
  }
}

export function registerExport(program: Command, io: CliIO, report: (r: unknown) => void): void {
  program
    .command('export')
    .description('Write the decoder and the frozen encoder as ONNX (opset 17) with configs and tokenizer; checks the decoder against tfjs (1e-4)')
    .requiredOption('--model <dir>', 'a trained model directory')
    .option('--output <dir>', 'where to write (default <model>/onnx)')
    .action(async (opts: ExportOptions) => report(await runExport(opts, io)));
}
