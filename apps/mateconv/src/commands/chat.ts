import { createInterface } from 'node:readline';
import { Rng } from '@proj/core';
import type { BackendChoice, ChatMessage } from '@proj/models';
import { generateText } from '@proj/sampling';
import type { Command } from 'commander';
import { bundled } from '../bundled-data';
import { type CliIO, CliError, log } from '../cli-io';
import type { EngineChoice } from '../engine';
import { addSamplingFlags, doSample, generationConfigOf, type SamplingFlags } from '../sampling-flags';
import { addEngineOptions, loadModelAndTokenizer } from './generate';

export interface ChatCommandOptions extends SamplingFlags {
  model: string;
  tokenizer: string;
  system?: string;
  backend: BackendChoice;
  engine: EngineChoice;
  /** The onnxruntime model's weight MatMuls in int8 (--int8). */
  int8?: boolean;
}

const LEAVE = new Set(['exit', 'quit', 'q']);

/**
 * Interactive chat: each line read is a user turn, rendered with the history through the
 * tokenizer's chat template; the reply streams to stdout as it is generated. `exit`, `quit` or `q`
 * leave, `clear` empties the history.
 */
export async function runChat(options: ChatCommandOptions, io: CliIO): Promise<{ turns: number }> {
  const input = io.stdin ?? process.stdin;
  const { model, tokenizer, engine, close } = await loadModelAndTokenizer(options, io);
  if (!tokenizer.chatTemplate) {
    await close();
    throw new CliError(`--tokenizer: ${options.tokenizer} has no chat template in tokenizer_config.json`);
  }
  const sampled = doSample(options);
  const rng = new Rng(options.seed);
  const history: ChatMessage[] = options.system ? [{ role: 'system', content: options.system }] : [];
  let turns = 0;
  log(io, 'chat: type a message; exit, quit or q leaves, clear empties the history');
  const lines = createInterface({ input, crlfDelay: Infinity });
  try {
    for await (const raw of lines) {
      const line = raw.trim();
      if (LEAVE.has(line)) break;
      if (line === 'clear') {
        history.splice(options.system ? 1 : 0);
        log(io, 'chat: history cleared');
        continue;
      }
      if (line === '') continue;
      history.push({ role: 'user', content: line });
      const ids = await tokenizer.encodeChat(history, { addGenerationPrompt: true });
      if (ids.length + options.maxNewTokens > model.config.max_position_embeddings) {
        log(io, `chat: the conversation (${ids.length} tokens) is too long for the model; type clear`);
        history.pop();
        continue;
      }
      // The reply streams as its text becomes certain (no half character, no possible start of a --stop string).
      const [reply] = await engine.withSource((source) =>
        generateText([ids], source, generationConfigOf(options, tokenizer), {
          rng: sampled ? rng : undefined,
          decode: (generated) => tokenizer.decode([...generated], { skipSpecialTokens: true }),
          stop: options.stop,
          onText: ({ delta }) => io.stdout.write(delta),
        }),
      );
      io.stdout.write('\n');
      history.push({ role: 'assistant', content: reply.text });
      turns++;
    }
  } finally {
    lines.close();
    await close();
  }
  return { turns };
}

export function registerChat(program: Command, io: CliIO): void {
  const command = addEngineOptions(program.command('chat'))
    .description('Chat with a model through the tokenizer\'s chat template; replies stream; exit/quit/q leave, clear empties the history')
    .requiredOption('--model <dir>', 'a model directory: pretrain final/ or a checkpoint')
    .option('--tokenizer <dir>', 'directory with tokenizer.json and tokenizer_config.json (chat template)', bundled.tokenizer)
    .option('--system <text>', 'a system message at the start of the conversation');
  // Chat samples at the recommended settings unless --greedy.
  addSamplingFlags(command, { maxNewTokens: 128, sample: true, topP: 0.95, repetitionPenalty: 1.2 }).action(async (opts: ChatCommandOptions) => {
    await runChat(opts, io);
  });
}
