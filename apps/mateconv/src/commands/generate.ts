import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '@proj/core';
import { BpeTokenizer, CAUSAL_LM_CONFIG_FILE, TfCausalLmSource, initBackend, loadCausalLm, type BackendChoice } from '@proj/models';
import { generate } from '@proj/sampling';
import { Option, type Command } from 'commander';
import { bundled } from '../bundled-data';
import { type CliIO, CliError, log } from '../cli-io';
import { intFlag, numberFlag } from '../flags';

export interface GenerateCommandOptions {
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
  json: boolean;
  backend: BackendChoice;
}

export interface Generation {
  prompt: string;
  text: string;
  tokens: number[];
}

export async function runGenerate(options: GenerateCommandOptions, io: CliIO): Promise<Generation[]> {
  if (!existsSync(join(options.model, CAUSAL_LM_CONFIG_FILE))) throw new CliError(`--model: no ${CAUSAL_LM_CONFIG_FILE} in ${options.model} (a pretrain final/ or checkpoint directory)`);
  if (!existsSync(join(options.tokenizer, 'tokenizer.json'))) throw new CliError(`--tokenizer: no tokenizer.json in ${options.tokenizer}`);
  if (options.promptsFile !== undefined && !existsSync(options.promptsFile)) throw new CliError(`--prompts-file: file not found: ${options.promptsFile}`);
  const prompts = [...(options.prompt ?? [])];
  if (options.promptsFile !== undefined) prompts.push(...(await readFile(options.promptsFile, 'utf8')).split('\n').filter((line) => line.trim() !== ''));
  if (prompts.length === 0) throw new CliError('give --prompt or --prompts-file');

  const backend = await initBackend({ backend: options.backend });
  log(io, `backend: ${backend.name} (${backend.detail})`);
  const tokenizer = await BpeTokenizer.fromDirectory(options.tokenizer);
  const model = await loadCausalLm(options.model);
  try {
    if (model.config.vocab_size !== tokenizer.vocabSize) throw new CliError(`--tokenizer: vocabulary ${tokenizer.vocabSize} != the model's ${model.config.vocab_size}`);
    // Pretraining wraps each document as BOS ... EOS, so a prompt starts with BOS and EOS ends a row.
    const bos = tokenizer.special.bos?.id;
    const encoded = await tokenizer.encodeBatch(prompts, { addSpecialTokens: false });
    const rows = encoded.map((ids) => (bos === undefined ? ids : [bos, ...ids]));
    const source = new TfCausalLmSource(model);
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
    source.dispose();
    const texts = await tokenizer.decodeBatch(out, { skipSpecialTokens: true });
    const generations = prompts.map((prompt, i) => ({ prompt, text: texts[i], tokens: out[i] }));
    for (const g of generations) io.stdout.write(options.json ? `${JSON.stringify(g)}\n` : `${g.prompt}${g.text.replace(/\n/g, ' ')}\n`);
    return generations;
  } finally {
    model.dispose();
  }
}

export function registerGenerate(program: Command, io: CliIO): void {
  program
    .command('generate')
    .description('Continue prompts with a pretrained model: one line out per prompt (prompt + continuation), or JSON lines with --json')
    .requiredOption('--model <dir>', 'a model directory: pretrain final/ or a checkpoint (config.json + model.safetensors)')
    .option('--tokenizer <dir>', 'directory with tokenizer.json (+ tokenizer_config.json)', bundled.tokenizer)
    .option('--prompt <text...>', 'prompts (several allowed)')
    .option('--prompts-file <file>', 'one prompt per line')
    .option('--max-new-tokens <n>', 'most tokens generated per prompt', intFlag('--max-new-tokens', 0), 64)
    .option('--sample', 'sample (with --seed) instead of greedy argmax', false)
    .option('--temperature <x>', 'divide logits by this before sampling', numberFlag('--temperature'), 1)
    .option('--top-k <n>', 'keep the k most probable tokens (0: off)', intFlag('--top-k', 0), 0)
    .option('--top-p <x>', 'keep the smallest set with this probability mass (1: off)', numberFlag('--top-p'), 1)
    .option('--min-p <x>', 'drop tokens below this fraction of the top probability (0: off)', numberFlag('--min-p'), 0)
    .option('--repetition-penalty <x>', 'penalize tokens already in the row (1: off)', numberFlag('--repetition-penalty'), 1)
    .option('--no-repeat-ngram-size <n>', 'never repeat an n-gram of this size (0: off)', intFlag('--no-repeat-ngram-size', 0), 0)
    .option('--seed <n>', 'sampling seed', intFlag('--seed', 0), 42)
    .option('--json', 'JSON lines {prompt, text, tokens}', false)
    .addOption(new Option('--backend <name>', 'compute backend').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .action(async (opts: GenerateCommandOptions) => {
      await runGenerate(opts, io);
    });
}
