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
