import { DEFAULT_MAX_INSERT_K } from '@proj/align';
import { z } from 'zod';

const probability = z.number().min(0, 'must be in [0, 1]').max(1, 'must be in [0, 1]');
const weight = z.number().min(0, 'must be >= 0').refine(Number.isFinite, 'must be finite');
const nonNegative = z.number().min(0, 'must be >= 0').refine(Number.isFinite, 'must be finite');
const count = (min: number) => z.number().int('must be an integer').min(min, `must be >= ${min}`);

/**
 * Every knob of synthetic error generation, with its default and description. Field names are
 * the seed project's (snake_case); the CLI maps `--pi-skip` to `pi_skip` and prints these
 * defaults and descriptions in --help.
 */
export const SynthConfigSchema = z
  .strictObject({
    pi_skip: weight.default(0.15).describe('weight of "skip": a character is missing from the source'),
    pi_multiply: weight.default(0.15).describe('weight of "multiply": a character is repeated 1..max_insert_k extra times'),
    pi_replace: weight.default(0.7).describe('weight of "replace": a character becomes a confusable one'),
    p_corrupt: probability.default(0.8).describe('online / frozen dev: chance a sentence gets errors (else a positive)'),
    num_negative: count(0).default(1).describe('static data: corrupted copies per sentence, besides the positive'),
    base_lambda: nonNegative.default(1).describe("lambda_mode 'constant': Poisson rate of errors per sentence"),
    max_edits_per_sent: count(1).default(5).describe('cap on errors in one sentence'),
    max_insert_k: count(1).default(DEFAULT_MAX_INSERT_K).describe('planner cap on [MASK]s after one slot; also caps multiply'),
    seed: count(0).max(Number.MAX_SAFE_INTEGER, 'must be a safe integer').default(42).describe('root of every random stream'),
    lambda_mode: z.enum(['constant', 'length', 'ratio']).default('constant').describe('how the Poisson rate is chosen'),
    min_length: nonNegative.default(10).describe("lambda_mode 'length': at or below this length, rate = min_lambda"),
    max_length: nonNegative.default(50).describe("lambda_mode 'length': at or above this length, rate = max_lambda"),
    min_lambda: nonNegative.default(0.5).describe("lambda_mode 'length': rate for short sentences"),
    max_lambda: nonNegative.default(2).describe("lambda_mode 'length': rate for long sentences"),
    error_ratio: nonNegative.default(0.05).describe("lambda_mode 'ratio': rate = error_ratio × length"),
    min_sentence_length: count(1).default(2).describe('shorter sentences are kept clean (counted as uncorruptible)'),
  })
  .superRefine((c, ctx) => {
    const pi = c.pi_skip + c.pi_multiply + c.pi_replace;
    if (!(pi > 0)) ctx.addIssue({ code: 'custom', path: ['pi_skip'], message: `pi_skip + pi_multiply + pi_replace must be > 0, got ${pi}` });
    if (c.lambda_mode === 'length' && !(c.max_length > c.min_length)) {
      ctx.addIssue({
        code: 'custom',
        path: ['max_length'],
        message: `max_length must be > min_length (${c.min_length}) when lambda_mode is 'length', got ${c.max_length}`,
      });
    }
  });

export type SynthConfig = z.output<typeof SynthConfigSchema>;
/** What callers may pass: any subset of the fields; the rest take their defaults. */
export type SynthConfigInput = z.input<typeof SynthConfigSchema>;

/** Validates `input` and fills defaults; the error lists every bad field with its value. */
export function parseSynthConfig(input: unknown = {}, caller = 'parseSynthConfig'): SynthConfig {
  const result = SynthConfigSchema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    // Cross-field checks already name their fields and values.
    if (issue.code === 'custom') return issue.message;
    if (issue.code === 'unrecognized_keys') return `${issue.message} (known fields: ${Object.keys(SynthConfigSchema.shape).join(', ')})`;
    const field = issue.path.join('.') || '(config)';
    const got = 'input' in issue ? `, got ${JSON.stringify(issue.input) ?? String(issue.input)}` : '';
    return `${field}: ${issue.message}${got}`;
  });
  throw new RangeError(`${caller}: invalid synthesis config: ${problems.join('; ')}`);
}

/** Every field at its default. */
export const defaultSynthConfig: SynthConfig = Object.freeze(parseSynthConfig({})) as SynthConfig;
