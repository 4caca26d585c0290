import type { BpeTokenizer } from '@proj/models';
import type { GenerationConfig } from '@proj/sampling';
import { Option, type Command } from 'commander';
import { numberFlag, usageError } from './flags';

/** How `generate`, `chat` and `eval` pick tokens: one set of flags, defaults per command. */
export interface SamplingFlags extends Pick<GenerationConfig, 'maxNewTokens' | 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'noRepeatNgramSize'> {
  /** Sample with --seed; false (or --greedy) = argmax. */
  sample: boolean;
  greedy?: boolean;
  /** The text ends before the first of these (left out). */
  stop?: string[];
  seed: number;
}

/** The defaults a command chooses: generate and eval are greedy and plain, chat samples at the recommended settings. */
export type SamplingDefaults = Pick<SamplingFlags, 'maxNewTokens' | 'sample' | 'topP' | 'repetitionPenalty'>;

/** `--stop` may be given several times (and takes several values); an empty string is refused. */
function stopFlag(value: string, previous: string[] | undefined): string[] {
  if (value === '') throw usageError('--stop must be a non-empty string, got ""');
  return [...(previous ?? []), value];
}

/** Adds the sampling flags with `defaults`; `--sample` and `--greedy` exclude each other. */
export function addSamplingFlags(command: Command, defaults: SamplingDefaults): Command {
  return command
    .option('--max-new-tokens <n>', 'most tokens generated per prompt (reply)', numberFlag('--max-new-tokens', { integer: true, min: 0 }), defaults.maxNewTokens)
    .addOption(new Option('--sample', 'sample (with --seed) instead of greedy argmax').default(defaults.sample))
    .addOption(new Option('--greedy', 'greedy argmax instead of sampling').conflicts('sample'))
    .option('--temperature <x>', 'divide logits by this before sampling', numberFlag('--temperature', { min: 0, exclusiveMin: true }), 1)
    .option('--top-k <n>', 'keep the k most probable tokens (0: off)', numberFlag('--top-k', { integer: true, min: 0 }), 0)
    .option('--top-p <x>', 'keep the smallest set with this probability mass (1: off)', numberFlag('--top-p', { min: 0, exclusiveMin: true, max: 1 }), defaults.topP)
    .option('--min-p <x>', 'drop tokens below this fraction of the top probability (0: off)', numberFlag('--min-p', { min: 0, max: 1 }), 0)
    .option('--repetition-penalty <x>', 'penalize tokens already in the row (1: off)', numberFlag('--repetition-penalty', { min: 0, exclusiveMin: true }), defaults.repetitionPenalty)
    .option('--no-repeat-ngram-size <n>', 'never repeat an n-gram of this size (0: off)', numberFlag('--no-repeat-ngram-size', { integer: true, min: 0 }), 0)
    .option('--stop <string...>', 'end the text before the first of these strings (repeatable; taken literally)', stopFlag)
    .option('--seed <n>', 'sampling seed', numberFlag('--seed', { integer: true, min: 0 }), 42);
}

/** The flags as the `GenerationConfig` of @proj/sampling, with the tokenizer's EOS and pad. */
export function generationConfigOf(flags: SamplingFlags, tokenizer: BpeTokenizer): Partial<GenerationConfig> {
  return {
    maxNewTokens: flags.maxNewTokens,
    doSample: doSample(flags),
    temperature: flags.temperature,
    topK: flags.topK,
    topP: flags.topP,
    minP: flags.minP,
    repetitionPenalty: flags.repetitionPenalty,
    noRepeatNgramSize: flags.noRepeatNgramSize,
    eosTokenId: tokenizer.special.eos?.id ?? null,
    padTokenId: tokenizer.special.pad?.id ?? null,
  };
}

/** Whether tokens are sampled (then with a `new Rng(flags.seed)`). */
export const doSample = (flags: Pick<SamplingFlags, 'sample' | 'greedy'>): boolean => flags.sample && flags.greedy !== true;
