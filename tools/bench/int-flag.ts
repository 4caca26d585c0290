import { numberFlag, type NumberRule } from '@proj/core';

/** `--name X` from the benchmark's command line, a number within `rule`, else undefined. */
export function numberArg(bench: string, name: string, rule: NumberRule): number | undefined {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return undefined;
  const parse = numberFlag(`--${name}`, rule, (message) => new RangeError(`bench/${bench}: ${message}`));
  return parse(process.argv[at + 1] ?? '');
}

/** `--name N` from the benchmark's command line, a positive integer, else `fallback`. */
export function intFlag(bench: string, name: string, fallback: number): number {
  return numberArg(bench, name, { integer: true, min: 1 }) ?? fallback;
}

/**
 * `--name a,b` from the benchmark's command line: comma-separated values, each one of `allowed`;
 * `fallback` (default: all of `allowed`) when the flag is absent.
 */
export function listArg<T extends string>(bench: string, name: string, allowed: readonly T[], fallback: readonly T[] = allowed): T[] {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return [...fallback];
  const values = (process.argv[at + 1] ?? '').split(',').filter((v) => v !== '');
  if (values.length === 0 || values.some((v) => !(allowed as readonly string[]).includes(v))) {
    throw new RangeError(`bench/${bench}: --${name} takes a comma-separated list of ${allowed.join(', ')}; got ${JSON.stringify(process.argv[at + 1] ?? '')}`);
  }
  return values as T[];
}
