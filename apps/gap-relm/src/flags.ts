import { InvalidArgumentError } from 'commander';

/** Commander parser for an integer flag with a lower bound; the error names the flag. */
export function parseIntFlag(flag: string, min = Number.MIN_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be an integer >= ${min}, got "${value}"`);
    return n;
  };
}

/** Commander parser for a finite number flag > 0. */
export function parsePositiveFlag(flag: string) {
  const parse = parseNumberFlag(flag);
  return (value: string): number => {
    const n = parse(value);
    if (!(n > 0)) throw new InvalidArgumentError(`${flag} must be a number > 0, got "${value}"`);
    return n;
  };
}

/** Commander parser for a finite number flag; range checks happen in the config schema. */
export function parseNumberFlag(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} must be a number, got "${value}"`);
    return n;
  };
}
