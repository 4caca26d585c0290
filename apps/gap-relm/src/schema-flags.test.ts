import { TrainConfigSchema, parseTrainConfig } from '@proj/trainer';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addSchemaOptions, schemaFields, validated, valuesFromOptions } from './schema-flags';

const fields = () => schemaFields(TrainConfigSchema.shape, parseTrainConfig({}) as unknown as Record<string, unknown>, { exclude: ['output_dir'] });

function parse(argv: string[]) {
  // Errors reach the test as the thrown CommanderError; commander's own stderr copy is dropped.
  const command = new Command('t').exitOverride().configureOutput({ writeErr: () => {} });
  addSchemaOptions(command, fields());
  command.parse(argv, { from: 'user' });
  return valuesFromOptions(command.opts(), fields());
}

describe('schema flags', () => {
  it('makes kebab-case flags for nested, enum, number and boolean fields, skipping excluded ones', () => {
    const flags = fields().map((f) => f.flag);
    expect(flags).toEqual(expect.arrayContaining(['--lr', '--grad-accum-steps', '--schedule', '--early-stopping-metric', '--early-stopping-mode', '--fp16']));
    expect(flags).not.toContain('--output-dir');
    expect(fields().find((f) => f.flag === '--schedule')?.choices).toEqual(['cosine', 'linear', 'polynomial', 'constant']);
  });

  it('rebuilds the nested config with defaults and typed values', () => {
    const config = parse(['--lr', '0.001', '--early-stopping-metric', 'f1', '--early-stopping-mode', 'max', '--bf16']);
    expect(config).toMatchObject({ lr: 0.001, bf16: true, fp16: false, epochs: 3, early_stopping: { metric: 'f1', mode: 'max', patience: 0 } });
    expect(parseTrainConfig(config).early_stopping.metric).toBe('f1');
  });

  it('refuses a bad enum value and reports schema errors in flag terms', () => {
    expect(() => parse(['--schedule', 'exponential'])).toThrow(/Allowed choices are cosine, linear, polynomial, constant/);
    const config = parse(['--fp16', '--bf16']);
    expect(() => validated(fields(), () => parseTrainConfig(config))).toThrow(/--bf16: --fp16 and --bf16 are mutually exclusive/);
  });
});
