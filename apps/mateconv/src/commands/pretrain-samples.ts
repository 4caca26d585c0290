import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@proj/core';
import type { BpeTokenizer, CausalLm } from '@proj/models';
import type { PeriodicHook } from '@proj/trainer';
import { type CliIO, log } from '../cli-io';
import { tfjsEngine } from '../engine';
import type { SamplingFlags } from '../sampling-flags';
import { continuePrompts } from './generate';

/** One line of `<run dir>/samples.jsonl`. */
export interface TrainingSample {
  step: number;
  /** greedy: argmax; sampled: the recommended settings (temperature 1, top-p 0.95, repetition penalty 1.2) with a Rng(--seed) made afresh at each step. */
  mode: 'greedy' | 'sampled';
  prompt: string;
  text: string;
}

export const SAMPLES_FILE = 'samples.jsonl';

export interface SampleHookOptions {
  model: CausalLm;
  tokenizer: BpeTokenizer;
  prompts: readonly string[];
  everySteps: number;
  maxNewTokens: number;
  seed: number;
  outputDir: string;
}

const SETTINGS: Record<TrainingSample['mode'], Omit<SamplingFlags, 'maxNewTokens' | 'seed'>> = {
  greedy: { sample: false, temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, noRepeatNgramSize: 0 },
  sampled: { sample: true, temperature: 1, topK: 0, topP: 0.95, minP: 0, repetitionPenalty: 1.2, noRepeatNgramSize: 0 },
};

/**
 * The pretraining hook that continues fixed prompts from the weights being trained (greedy, then
 * sampled at the recommended settings), on the tfjs backend, and writes each continuation as a log
 * line on stderr and a line of `<outputDir>/samples.jsonl`. Its first call drops what the file
 * holds from step `step` on (a run killed after sampling and resumed from an earlier checkpoint)
 * or, in a fresh run, all of it.
 */
export function createSampleHook(options: SampleHookOptions, resumed: boolean, io: CliIO): PeriodicHook {
  const file = join(options.outputDir, SAMPLES_FILE);
  let first = true;
  return {
    name: 'samples',
    everySteps: options.everySteps,
    async run({ step }) {
      if (first) {
        first = false;
        const before = (line: string) => {
          try {
            return (JSON.parse(line) as TrainingSample).step < step;
          } catch {
            return false; // a line cut short by a killed run
          }
        };
        const kept = resumed && existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter(before) : [];
        await writeFileAtomic(file, kept.map((line) => `${line}\n`).join(''));
      }
      const engine = tfjsEngine(options.model);
      const lines: string[] = [];
      for (const mode of ['greedy', 'sampled'] as const) {
        const generations = await continuePrompts(engine, options.tokenizer, options.prompts, { ...SETTINGS[mode], maxNewTokens: options.maxNewTokens, seed: options.seed });
        for (const { prompt, text } of generations) {
          log(io, `sample step ${step} ${mode}: ${prompt} → ${text.replace(/\n/g, ' ')}`);
          lines.push(JSON.stringify({ step, mode, prompt, text } satisfies TrainingSample));
        }
      }
      // One append per step, whole lines.
      await appendFile(file, lines.map((line) => `${line}\n`).join(''));
    },
  };
}
