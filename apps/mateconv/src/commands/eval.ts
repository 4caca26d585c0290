import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repetitionReport, type RepetitionReport } from '@proj/metrics';
import { PACKED_FILES, PackedTokens } from '@proj/models';
import type { Command } from 'commander';
import { type CliIO, CliError, log } from '../cli-io';
import { numberFlag } from '../flags';
import { addGenerationOptions, continuePrompts, loadModelAndTokenizer, readPrompts, type Generation, type GenerationFlags } from './generate';

export interface EvalCommandOptions extends GenerationFlags {
  data?: string;
  seqLen: number;
  windows: number;
  samples: number;
}

export interface EvalReport {
  /** Held-out next-token loss and perplexity over `windows` windows of `seq_len` tokens. */
  heldout: { loss: number; perplexity: number; windows: number; seq_len: number } | null;
  /** Repetition measures of the generations, over code points of the continuations. */
  repetition: RepetitionReport | null;
  samples: Generation[];
}

/**
 * Held-out perplexity of a prepared corpus (`--data`) and repetition measures of generations
 * (`--prompt` / `--prompts-file`, with the sampling flags): distinct-1/2, the share that copies its
 * prompt and the share that loops on a 4-gram (3 times).
 */
export async function runEval(options: EvalCommandOptions, io: CliIO): Promise<EvalReport> {
  if (options.data !== undefined && !existsSync(join(options.data, PACKED_FILES.stats))) throw new CliError(`--data: no ${PACKED_FILES.stats} in ${options.data} (run \`mateconv prepare\` first)`);
  const prompts = await readPrompts(options);
  if (options.data === undefined && prompts.length === 0) throw new CliError('give --data (perplexity) and/or --prompt / --prompts-file (repetition)');
  const { model, tokenizer, engine, close } = await loadModelAndTokenizer(options, io);
  try {
    let heldout: EvalReport['heldout'] = null;
    if (options.data !== undefined) {
      const data = await PackedTokens.open(options.data);
      try {
        const seqLen = Math.min(options.seqLen, model.config.max_position_embeddings);
        const { loss, perplexity, windows } = await engine.heldout(data, seqLen, options.windows);
        heldout = { loss, perplexity, windows, seq_len: seqLen };
        log(io, `eval: held-out loss ${loss.toFixed(4)}, perplexity ${perplexity.toFixed(2)} over ${windows} windows of ${seqLen} tokens`);
      } finally {
        await data.close();
      }
    }
    let repetition: RepetitionReport | null = null;
    let samples: Generation[] = [];
    if (prompts.length > 0) {
      const generations = await continuePrompts(engine, tokenizer, prompts, options);
      repetition = repetitionReport(prompts.map((p) => Array.from(p)), generations.map((g) => Array.from(g.text)));
      samples = generations.slice(0, options.samples);
      log(io, `eval: ${generations.length} generations: distinct-1 ${repetition.distinct1.toFixed(3)}, distinct-2 ${repetition.distinct2.toFixed(3)}, copy the prompt ${repetition.promptCopyRate.toFixed(3)}, loop ${repetition.loopRate.toFixed(3)}`);
    }
    return { heldout, repetition, samples };
  } finally {
    await close();
  }
}

export function registerEval(program: Command, io: CliIO, report: (result: unknown) => void): void {
  addGenerationOptions(program.command('eval').description('Held-out perplexity (--data) and repetition measures of generations (--prompt / --prompts-file)'))
    .option('--data <dir>', 'a prepared held-out corpus (`mateconv prepare`)')
    .option('--seq-len <n>', 'tokens per perplexity window', numberFlag('--seq-len', { integer: true, min: 2 }), 128)
    .option('--windows <n>', 'most windows scored', numberFlag('--windows', { integer: true, min: 1 }), 512)
    .option('--samples <n>', 'generations included in the report', numberFlag('--samples', { integer: true, min: 0 }), 5)
    .action(async (opts: EvalCommandOptions) => report(await runEval(opts, io)));
}
