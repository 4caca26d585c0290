import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '@proj/core';
import { BpeTokenizer, CAUSAL_LM_CONFIG_FILE, initBackend, loadCausalLm, type BackendChoice, type CausalLm } from '@proj/models';
import { generateText } from '@proj/sampling';
import { Option, type Command } from 'commander';
import { bundled } from '../bundled-data';
import { type CliIO, CliError, log } from '../cli-io';
import { ENGINE_CHOICES, openEngine, type EngineChoice, type LmEngine } from '../engine';
import { addSamplingFlags, doSample, generationConfigOf, type SamplingFlags } from '../sampling-flags';

/** The flags shared by `generate` and `eval`: model, tokenizer, prompts, sampling, engine and backend. */
export interface GenerationFlags extends SamplingFlags {
  model: string;
  tokenizer: string;
  prompt?: string[];
  promptsFile?: string;
  backend: BackendChoice;
  engine: EngineChoice;
  /** The onnxruntime model's weight MatMuls in int8. */
  int8?: boolean;
}

export interface GenerateCommandOptions extends GenerationFlags {
  json: boolean;
  /** Print each continuation as its tokens come. */
  stream: boolean;
}

export interface Generation {
  prompt: string;
  text: string;
  tokens: number[];
}

/** Prompts from --prompt and --prompts-file (blank lines skipped); `fileFlag` names the file's flag in errors. */
export async function readPrompts(options: Pick<GenerationFlags, 'prompt' | 'promptsFile'>, fileFlag = '--prompts-file'): Promise<string[]> {
  if (options.promptsFile !== undefined && !existsSync(options.promptsFile)) throw new CliError(`${fileFlag}: file not found: ${options.promptsFile}`);
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
export async function loadModelAndTokenizer(options: Pick<GenerationFlags, 'model' | 'tokenizer' | 'backend' | 'engine' | 'int8'>, io: CliIO): Promise<LoadedModel> {
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
    engine = await openEngine(model, options.model, options.engine, io, backend.name, { int8: options.int8 });
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

/** Streaming: each row's pieces of text as they become certain, and the end of each row. */
export interface GenerationStream {
  onText(event: { row: number; delta: string }): void;
  onEnd(event: { row: number }): void;
}

/**
 * Continues each prompt: BOS + its ids (as pretraining wraps documents); EOS, `--stop` or
 * `--max-new-tokens` end a row.
 */
export async function continuePrompts(engine: LmEngine, tokenizer: BpeTokenizer, prompts: readonly string[], options: SamplingFlags, stream?: GenerationStream): Promise<Generation[]> {
  const bos = tokenizer.special.bos?.id;
  const encoded = await tokenizer.encodeBatch(prompts, { addSpecialTokens: false });
  const rows = encoded.map((ids) => (bos === undefined ? ids : [bos, ...ids]));
  return engine.withSource(async (source) => {
    const out = await generateText(rows, source, generationConfigOf(options, tokenizer), {
      rng: doSample(options) ? new Rng(options.seed) : undefined,
      decode: (ids) => tokenizer.decode([...ids], { skipSpecialTokens: true }),
      stop: options.stop,
      onText: stream?.onText,
      onEnd: stream?.onEnd,
    });
    return prompts.map((prompt, i) => ({ prompt, text: out[i].text, tokens: out[i].tokens }));
  });
}

/**
 * Prints rows in prompt order as they are generated: the first unfinished row streams live, the
 * others are held until the rows before them are printed. One line per prompt, as without --stream.
 */
function printInOrder(io: CliIO, prompts: readonly string[]): GenerationStream {
  const held = prompts.map(() => '');
  const ended = prompts.map(() => false);
  let live = 0;
  const write = (text: string) => io.stdout.write(text.replace(/\n/g, ' '));
  if (prompts.length > 0) write(prompts[0]);
  return {
    onText({ row, delta }) {
      if (row === live) write(delta);
      else held[row] += delta;
    },
    onEnd({ row }) {
      ended[row] = true;
      while (live < prompts.length && ended[live]) {
        io.stdout.write('\n');
        live++;
        if (live < prompts.length) write(prompts[live] + held[live]);
      }
    },
  };
}

export async function runGenerate(options: GenerateCommandOptions, io: CliIO): Promise<Generation[]> {
  const prompts = await readPrompts(options);
  if (prompts.length === 0) throw new CliError('give --prompt or --prompts-file');
  const loaded = await loadModelAndTokenizer(options, io);
  try {
    if (options.stream) return await continuePrompts(loaded.engine, loaded.tokenizer, prompts, options, printInOrder(io, prompts));
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
    .addOption(new Option('--backend <name>', 'tfjs backend (loading; the tfjs engine)').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .option('--int8', "onnxruntime model with its weight MatMuls in int8 (dynamic quantization): faster, not bit-equal to float, and a row can change with the rows it shares a call with", false);
}

/** Adds the model, tokenizer, prompt, sampling (greedy by default), engine and backend flags of generate and eval. */
export function addGenerationOptions(command: Command): Command {
  const withModel = addEngineOptions(command)
    .requiredOption('--model <dir>', 'a model directory: pretrain final/ or a checkpoint (config.json + model.safetensors)')
    .option('--tokenizer <dir>', 'directory with tokenizer.json (+ tokenizer_config.json)', bundled.tokenizer)
    .option('--prompt <text...>', 'prompts (several allowed)')
    .option('--prompts-file <file>', 'one prompt per line');
  return addSamplingFlags(withModel, { maxNewTokens: 64, sample: false, topP: 1, repetitionPenalty: 1 });
}

export function registerGenerate(program: Command, io: CliIO): void {
  addGenerationOptions(program.command('generate').description('Continue prompts with a pretrained model: one line out per prompt (prompt + continuation), or JSON lines with --json'))
    .option('--json', 'JSON lines {prompt, text, tokens}', false)
    .addOption(new Option('--stream', 'print each continuation as its tokens come (prompts in order)').default(false).conflicts('json'))
    .action(async (opts: GenerateCommandOptions) => {
      await runGenerate(opts, io);
    });
}
