import { Option, type Command } from 'commander';
import { CliError } from './cli-io';
import { numberFlag } from './flags';

/**
 * Command-line flags generated from a zod config schema, so every default and description is
 * written once, in the package that owns the config: `pi_skip` → `--pi-skip`, a nested
 * `early_stopping.metric` → `--early-stopping-metric`, a boolean `fp16` → `--fp16` (or
 * `--no-<name>` when it defaults to true).
 */
interface ZodLike {
  description?: string;
  unwrap?: () => ZodLike;
  options?: readonly string[];
  shape?: Record<string, ZodLike>;
  def: { type: string };
}

export interface SchemaField {
  /** Path in the config object, e.g. ['early_stopping', 'metric']. */
  path: string[];
  flag: string;
  /** The key commander stores the value under (camelCase of the flag). */
  key: string;
  kind: 'number' | 'boolean' | 'enum' | 'string';
  defaultValue: unknown;
  description: string;
  choices?: readonly string[];
}

const kebab = (s: string) => s.replace(/_/g, '-');
const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function unwrapped(schema: ZodLike): ZodLike {
  let inner = schema;
  while ((inner.def.type === 'default' || inner.def.type === 'prefault' || inner.def.type === 'optional') && inner.unwrap) inner = inner.unwrap();
  return inner;
}

/** The leaf fields of an object schema with their defaults (from `defaults`, the parsed `{}`). */
export function schemaFields(
  shape: Record<string, unknown>,
  defaults: Record<string, unknown>,
  options: { prefix?: string; exclude?: readonly string[] } = {},
  path: string[] = [],
): SchemaField[] {
  const fields: SchemaField[] = [];
  for (const [name, raw] of Object.entries(shape)) {
    const fieldPath = [...path, name];
    if (options.exclude?.includes(fieldPath.join('.'))) continue;
    const schema = raw as ZodLike;
    const inner = unwrapped(schema);
    const defaultValue = defaults[name];
    if (inner.def.type === 'object' && inner.shape) {
      fields.push(...schemaFields(inner.shape, (defaultValue ?? {}) as Record<string, unknown>, options, fieldPath));
      continue;
    }
    const kind = inner.def.type === 'enum' ? 'enum' : inner.def.type === 'boolean' ? 'boolean' : inner.def.type === 'number' ? 'number' : 'string';
    const flagName = `${options.prefix ?? ''}${fieldPath.map(kebab).join('-')}`;
    fields.push({
      path: fieldPath,
      flag: `--${flagName}`,
      key: camel(flagName),
      kind,
      defaultValue,
      description: schema.description ?? inner.description ?? fieldPath.join(' ').replace(/_/g, ' '),
      choices: kind === 'enum' ? inner.options : undefined,
    });
  }
  return fields;
}

export function addSchemaOptions(command: Command, fields: readonly SchemaField[]): Command {
  for (const field of fields) {
    if (field.kind === 'boolean') {
      const negate = field.defaultValue === true;
      command.addOption(new Option(negate ? `--no-${field.flag.slice(2)}` : field.flag, field.description));
      continue;
    }
    const option = new Option(`${field.flag} <value>`, field.description);
    if (field.defaultValue !== undefined) option.default(field.defaultValue);
    if (field.kind === 'number') option.argParser(numberFlag(field.flag)); // any finite number: the schema checks the range
    if (field.choices) option.choices(field.choices);
    command.addOption(option);
  }
  return command;
}

/** Rebuilds the (nested) config object from commander's parsed options. */
export function valuesFromOptions(opts: Record<string, unknown>, fields: readonly SchemaField[]): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of fields) {
    let value = opts[field.key];
    if (field.kind === 'boolean') value = value ?? field.defaultValue;
    if (value === undefined) continue;
    let node = config;
    for (const part of field.path.slice(0, -1)) node = (node[part] ??= {}) as Record<string, unknown>;
    node[field.path[field.path.length - 1]] = value;
  }
  return config;
}

/** Turns a schema error's snake_case field names into the flags the user typed. */
export function validated<T>(fields: readonly SchemaField[], parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    let message = (error as Error).message;
    for (const field of [...fields].sort((a, b) => b.path.join('.').length - a.path.join('.').length)) {
      // Not inside a flag already substituted: `lr` must not touch `--head-lr-scale`.
      message = message.replace(new RegExp(`(?<![\\w-])${field.path.join('\\.')}(?![\\w-])`, 'g'), field.flag);
    }
    throw new CliError(message);
  }
}

/** The flags at their defaults, as commander would hand them to an action (for in-process callers). */
export function defaultFlagValues(fields: readonly SchemaField[]): Record<string, unknown> {
  return Object.fromEntries(fields.map((field) => [field.key, field.defaultValue]));
}
