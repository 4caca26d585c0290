import { InvalidArgumentError } from 'commander';

/** Commander parser for a numeric flag: finite, optionally an integer, at least `min`; the error names the flag. */
export function num(flag: string, rule: { integer?: boolean; min?: number } = {}) {
  const { integer = false, min = -Infinity } = rule;
  const want = `${integer ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}`;
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min) throw new InvalidArgumentError(`${flag} must be ${want}, got "${value}"`);
    return n;
  };
}
