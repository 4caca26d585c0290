import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '@proj/core';
import { BpeTokenizer, CAUSAL_LM_CONFIG_FILE, initBackend, loadCausalLm, type BackendChoice, type CausalLm } from '@proj/models';
import { generate } from '@proj/sampling';
import { Option, type Command } from 'commander';
import { bundled } from '../bundled-data';
import { type CliIO, CliError, log } from '../cli-io';
import { ENGINE_CHOICES, openEngine, type EngineChoice, type LmEngine } from '../engine';
import { numberFlag } from '../flags';

/** The flags shared by `generate` and `eval`: model, tokenizer, prompts, sampling, engine and backend. */
export interface SamplingFlags {
  model: string;
  tokenizer: string;
  prompt?: string[];
  promptsFile?: string;
  maxNewTokens: number;
  sample: boolean;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  noRepeatNgramSize: number;
  seed: number;
  backend: BackendChoice;
  engine: EngineChoice;
}

export interface GenerateCommandOptions extends SamplingFlags {
  json: boolean;
}

export interface Generation {
  prompt: string;
  text: string;
  tokens: number[];
}

/** Prompts from --prompt and --prompts-file (blank lines skipped). */
export async function readPrompts(options: Pick<SamplingFlags, 'prompt' | 'promptsFile'>): Promise<string[]> {
  if (options.promptsFile !== undefined && !existsSync(options.promptsFile)) throw new CliError(`--prompts-file: file not found: ${options.promptsFile}`);
  const prompts = [...(options.prompt ?? [])];
  if (options.promptsFile !== undefined) prompts.push(...(await readFile(options.promptsFile, 'utf8')).split('\n').filter((line) => line.trim() !== ''));
  return prompts;
}

/** What `loadModelAndTokenizer` opens; `close()` releases the engine and the model. */
export interface LoadedModel {
  model: CausalLm;
  tokenizer: BpeTokenizer;
  engine: LmEngine;
  close(): Promise<void>;
}

/**
 * Checks --model and --tokenizer, starts the tfjs backend, loads both and opens the model on
 * --engine (the caller calls `close()`).
 */
export async function loadModelAndTokenizer(options: Pick<SamplingFlags, 'model' | 'tokenizer' | 'backend' | 'engine'>, io: CliIO): Promise<LoadedModel> {
  if (!existsSync(join(options.model, CAUSAL_LM_CONFIG_FILE))) throw new CliError(`--model: no ${CAUSAL_LM_CONFIG_FILE} in ${options.model} (a pretrain final/ or checkpoint directory)`);
  if (!existsSync(join(options.tokenizer, 'tokenizer.json'))) throw new CliError(`--tokenizer: no tokenizer.json in ${options.tokenizer}`);
  const backend = await initBackend({ backend: options.backend });
  log(io, `backend: ${backend.name} (${backend.detail})`);
  const tokenizer = await BpeTokenizer.fromDirectory(options.tokenizer);
  const model = await loadCausalLm(options.model);
  if (model.config.vocab_size !== tokenizer.vocabSize) {
    model.dispose();
    throw new CliError(`--tokenizer: vocabulary ${tokenizer.vocabSize} != the model's ${model.config.vocab_size}`);
  }
  let engine: LmEngine;
  try {
    engine = await openEngine(model, options.model, options.engine, io, backend.name);
  } catch (error) {
    model.dispose();
    throw error;
  }
  const close = async () => {
    await engine.release();
    model.dispose();
  };
  return { model, tokenizer, engine, close };
}

/** Continues each prompt: BOS + its ids (as pretraining wraps documents), EOS ends a row. */
export async function continuePrompts(engine: LmEngine, tokenizer: BpeTokenizer, prompts: readonly string[], options: SamplingFlags): Promise<Generation[]> {
  const bos = tokenizer.special.bos?.id;
  const encoded = await tokenizer.encodeBatch(prompts, { addSpecialTokens: false });
  const rows = encoded.map((ids) => (bos === undefined ? ids : [bos, ...ids]));
  return engine.withSource(async (source) => {
    const out = await generate(
      rows,
      source,
      {
        maxNewTokens: options.maxNewTokens,
        doSample: options.sample,
        temperature: options.temperature,
        topK: options.topK,
        topP: options.topP,
        minP: options.minP,
        repetitionPenalty: options.repetitionPenalty,
        noRepeatNgramSize: options.noRepeatNgramSize,
        eosTokenId: tokenizer.special.eos?.id ?? null,
        padTokenId: tokenizer.special.pad?.id ?? null,
      },
      { rng: options.sample ? new Rng(options.seed) : undefined },
    );
    const texts = await tokenizer.decodeBatch(out, { skipSpecialTokens: true });
    return prompts.map((prompt, i) => ({ prompt, text: texts[i], tokens: out[i] }));
  });
}

export async function runGenerate(options: GenerateCommandOptions, io: CliIO): Promise<Generation[]> {
  const prompts = await readPrompts(options);
  if (prompts.length === 0) throw new CliError('give --prompt or --prompts-file');
  const loaded = await loadModelAndTokenizer(options, io);
  try {
    const generations = await continuePrompts(loaded.engine, loaded.tokenizer, prompts, options);
    for (const g of generations) io.stdout.write(options.json ? `${JSON.stringify(g)}\n` : `${g.prompt}${g.text.replace(/\n/g, ' ')}\n`);
    return generations;
  } finally {
    await loaded.close();
  }
}

/** --engine and --backend, shared by generate, chat and eval. */
export function addEngineOptions(command: Command): Command {
  return command
    .addOption(new Option('--engine <name>', 'onnx: onnxruntime with the KV cache (<model>/onnx/model.onnx, else exported in memory); tfjs: the --backend; auto: onnx when it can run').choices(ENGINE_CHOICES).default('auto'))
    .addOption(new Option('--backend <name>', 'tfjs backend (loading; the tfjs engine)').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'));
}

/** Adds the model, tokenizer, prompt, sampling, engine and backend flags. */
export function addSamplingOptions(command: Command): Command {
  return addEngineOptions(command)
    .requiredOption('--model <dir>', 'a model directory: pretrain final/ or a checkpoint (config.json + model.safetensors)')
    .option('--tokenizer <dir>', 'directory with tokenizer.json (+ tokenizer_config.json)', bundled.tokenizer)
    .option('--prompt <text...>', 'prompts (several allowed)')
    .option('--prompts-file <file>', 'one prompt per line')
    .option('--max-new-tokens <n>', 'most tokens generated per prompt', numberFlag('--max-new-tokens', { integer: true, min: 0 }), 64)
    .option('--sample', 'sample (with --seed) instead of greedy argmax', false)
    .option('--temperature <x>', 'divide logits by this before sampling', numberFlag('--temperature'), 1)
    .option('--top-k <n>', 'keep the k most probable tokens (0: off)', numberFlag('--top-k', { integer: true, min: 0 }), 0)
    .option('--top-p <x>', 'keep the smallest set with this probability mass (1: off)', numberFlag('--top-p'), 1)
    .option('--min-p <x>', 'drop tokens below this fraction of the top probability (0: off)', numberFlag('--min-p'), 0)
    .option('--repetition-penalty <x>', 'penalize tokens already in the row (1: off)', numberFlag('--repetition-penalty'), 1)
    .option('--no-repeat-ngram-size <n>', 'never repeat an n-gram of this size (0: off)', numberFlag('--no-repeat-ngram-size', { integer: true, min: 0 }), 0)
    .option('--seed <n>', 'sampling seed', numberFlag('--seed', { integer: true, min: 0 }), 42);
}

export function registerGenerate(program: Command, io: CliIO): void {
  addSamplingOptions(program.command('generate').description('Continue prompts with a pretrained model: one line out per prompt (prompt + continuation), or JSON lines with --json'))
    .option('--json', 'JSON lines {prompt, text, tokens}', false)
    .action(async (opts: GenerateCommandOptions) => {
      await runGenerate(opts, io);
    });
}
