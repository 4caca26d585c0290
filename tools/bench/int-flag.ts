/** `--name N` from the benchmark's command line, a positive integer, else `fallback`. */
export function intFlag(bench: string, name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`bench/${bench}: --${name} must be a positive integer, got ${process.argv[at + 1]}`);
  return value;
}
