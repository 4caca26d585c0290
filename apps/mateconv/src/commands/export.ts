import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@proj/core';
import { CAUSAL_LM_CONFIG_FILE, OnnxCausalLmSource, TfCausalLmSource, causalLmToOnnx, initBackend, loadCausalLm, recordCausalLm, type BackendChoice } from '@proj/models';
import { generate } from '@proj/sampling';
import { Option, type Command } from 'commander';
import { type CliIO, CliError, log } from '../cli-io';
import { numberFlag } from '../flags';

export interface ExportCommandOptions {
  model: string;
  output?: string;
  maxLength: number;
  kvCache: boolean;
  check: boolean;
  backend: BackendChoice;
}

export interface ExportReport {
  onnx: string;
  bytes: number;
  kv_cache: boolean;
  max_length: number;
  inputs: string[];
  outputs: string[];
  /** Greedy tokens of fixed id prompts on onnxruntime against the tfjs model (--check). */
  check: { prompts: number; new_tokens: number; tokens_equal: boolean } | null;
}

/** Fixed prompts for the check: ids spread over the vocabulary, ragged lengths (left padding with the cache). */
function checkPrompts(vocab: number): number[][] {
  return [[1, 7, 42, 300], [5, 99], [2, 3, 5, 7, 11, 13]].map((row) => row.map((id) => id % vocab));
}

/**
 * Writes `<output>/model.onnx` (opset 17; with past key/values by default, in the layout of
 * optimum's decoder exports) and a copy of config.json, then checks it: greedy tokens from fixed
 * prompts on onnxruntime must equal the tfjs model's.
 */
export async function runExport(options: ExportCommandOptions, io: CliIO): Promise<ExportReport> {
  if (!existsSync(join(options.model, CAUSAL_LM_CONFIG_FILE))) throw new CliError(`--model: no ${CAUSAL_LM_CONFIG_FILE} in ${options.model} (a pretrain final/ or checkpoint directory)`);
  const backend = await initBackend({ backend: options.backend });
  log(io, `backend: ${backend.name} (${backend.detail})`);
  const model = await loadCausalLm(options.model);
  try {
    const maxLength = Math.min(options.maxLength, model.config.max_position_embeddings);
    const exportOptions = { kvCache: options.kvCache, maxLength };
    const graph = recordCausalLm(model, exportOptions);
    const bytes = await causalLmToOnnx(model, exportOptions);
    const outDir = options.output ?? join(options.model, 'onnx');
    await mkdir(outDir, { recursive: true });
    const onnx = join(outDir, 'model.onnx');
    await writeFileAtomic(onnx, bytes);
    await copyFile(join(options.model, CAUSAL_LM_CONFIG_FILE), join(outDir, CAUSAL_LM_CONFIG_FILE));
    log(io, `export: ${onnx} (${(bytes.length / 1e6).toFixed(1)} MB, ${options.kvCache ? 'with past key/values' : 'no KV cache'}, up to ${maxLength} positions)`);
    let check: ExportReport['check'] = null;
    if (options.check && options.kvCache) {
      const prompts = checkPrompts(model.config.vocab_size);
      const newTokens = 8;
      const onnxSource = await OnnxCausalLmSource.create(bytes, model.config, { executionProviders: ['cpu'] });
      const tfSource = new TfCausalLmSource(model);
      try {
        const [a, b] = [await generate(prompts, onnxSource, { maxNewTokens: newTokens }), await generate(prompts, tfSource, { maxNewTokens: newTokens })];
        check = { prompts: prompts.length, new_tokens: newTokens, tokens_equal: JSON.stringify(a) === JSON.stringify(b) };
      } finally {
        tfSource.dispose();
        await onnxSource.release();
      }
      log(io, `export: greedy tokens on onnxruntime ${check.tokens_equal ? 'equal' : 'DIFFER from'} tfjs (${check.prompts} prompts x ${newTokens} tokens)`);
      if (!check.tokens_equal) throw new Error('export: onnxruntime and tfjs generate different greedy tokens');
    }
    return { onnx, bytes: bytes.length, kv_cache: options.kvCache, max_length: maxLength, inputs: graph.inputs.map((i) => i.name), outputs: graph.outputs.map((o) => o.name), check };
  } finally {
    model.dispose();
  }
}

export function registerExport(program: Command, io: CliIO, report: (result: unknown) => void): void {
  program
    .command('export')
    .description('Write the model as ONNX with past key/values (optimum decoder layout) and check it on onnxruntime')
    .requiredOption('--model <dir>', 'a model directory (pretrain final/ or a checkpoint)')
    .option('--output <dir>', 'where model.onnx and config.json go (default <model>/onnx)')
    .option('--max-length <n>', 'most positions (cached + new) the graph accepts', numberFlag('--max-length', { integer: true, min: 1 }), 512)
    .option('--no-kv-cache', 'export the plain forward (input_ids -> logits) instead')
    .option('--no-check', 'skip the greedy-token check against tfjs')
    .addOption(new Option('--backend <name>', 'tfjs backend for loading and the check').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .action(async (opts: ExportCommandOptions) => report(await runExport(opts, io)));
}
