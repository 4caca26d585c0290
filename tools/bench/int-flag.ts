import { numberFlag } from '@proj/core';

/** `--name N` from the benchmark's command line, a positive integer, else `fallback`. */
export function intFlag(bench: string, name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const parse = numberFlag(`--${name}`, { integer: true, min: 1 }, (message) => new RangeError(`bench/${bench}: ${message}`));
  return parse(process.argv[at + 1] ?? '');
}
