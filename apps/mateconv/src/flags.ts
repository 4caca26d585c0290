import { InvalidArgumentError } from 'commander';

/** Commander parser for an integer flag with a lower bound; the error names the flag. */
export function intFlag(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got "${value}"`);
    return n;
  };
}
