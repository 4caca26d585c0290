import { createInterface } from 'node:readline';
import { Rng } from '@proj/core';
import type { BackendChoice, ChatMessage } from '@proj/models';
import { generate } from '@proj/sampling';
import type { Command } from 'commander';
import { bundled } from '../bundled-data';
import { type CliIO, CliError, log } from '../cli-io';
import { numberFlag } from '../flags';
import type { EngineChoice } from '../engine';
import { addEngineOptions, loadModelAndTokenizer } from './generate';

export interface ChatCommandOptions {
  model: string;
  tokenizer: string;
  system?: string;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  repetitionPenalty: number;
  greedy: boolean;
  seed: number;
  backend: BackendChoice;
  engine: EngineChoice;
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
      // Stream: decode what has been generated so far and print the new text, holding back a
      // trailing U+FFFD (a character whose bytes have not all arrived).
      const generated: number[] = [];
      let shown = '';
      const flush = async (final: boolean) => {
        const text = await tokenizer.decode(generated, { skipSpecialTokens: true });
        const ready = final ? text : text.replace(/\uFFFD+$/, '');
        if (ready.length > shown.length && ready.startsWith(shown)) {
          io.stdout.write(ready.slice(shown.length));
          shown = ready;
        }
      };
      const pending: Promise<void>[] = [];
      await engine.withSource((source) =>
        generate(
          [ids],
          source,
          {
            maxNewTokens: options.maxNewTokens,
            doSample: !options.greedy,
            temperature: options.temperature,
            topP: options.topP,
            repetitionPenalty: options.repetitionPenalty,
            eosTokenId: tokenizer.special.eos?.id ?? null,
            padTokenId: tokenizer.special.pad?.id ?? null,
          },
          {
            rng: options.greedy ? undefined : rng,
            onToken: (event) => {
              generated.push(event.token);
              pending.push(flush(false));
            },
          },
        ),
      );
      await Promise.all(pending);
      await flush(true);
      io.stdout.write('\n');
      history.push({ role: 'assistant', content: shown });
      turns++;
    }
  } finally {
    lines.close();
    await close();
  }
  return { turns };
}

export function registerChat(program: Command, io: CliIO): void {
  addEngineOptions(program.command('chat'))
    .description('Chat with a model through the tokenizer\'s chat template; replies stream; exit/quit/q leave, clear empties the history')
    .requiredOption('--model <dir>', 'a model directory: pretrain final/ or a checkpoint')
    .option('--tokenizer <dir>', 'directory with tokenizer.json and tokenizer_config.json (chat template)', bundled.tokenizer)
    .option('--system <text>', 'a system message at the start of the conversation')
    .option('--max-new-tokens <n>', 'most tokens per reply', numberFlag('--max-new-tokens', { integer: true, min: 1 }), 128)
    .option('--temperature <x>', 'sampling temperature', numberFlag('--temperature'), 1)
    .option('--top-p <x>', 'nucleus sampling mass (1: off)', numberFlag('--top-p'), 0.95)
    .option('--repetition-penalty <x>', 'penalize tokens already in the conversation (1: off)', numberFlag('--repetition-penalty'), 1.2)
    .option('--greedy', 'greedy argmax instead of sampling', false)
    .option('--seed <n>', 'sampling seed', numberFlag('--seed', { integer: true, min: 0 }), 42)
    .action(async (opts: ChatCommandOptions) => {
      await runChat(opts, io);
    });
}
