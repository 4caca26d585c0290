import { InvalidArgumentError } from 'commander';

/** Commander parser for an integer flag with a lower bound; the error names the flag. */
export function intFlag(flag: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got "${value}"`);
    return n;
  };
}

/** Commander parser for a finite number flag; range checks happen in the config schemas. */
export function numberFlag(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number, got "${value}"`);
    return n;
  };
}
