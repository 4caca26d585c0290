import { CliError } from './cli-io';
import { describeNumberRule, meetsNumberRule, type NumberRule } from './number-rule';

/**
 * The parser of a numeric command-line flag (commander's `argParser`): the value as a number
 * within `rule`, else `usageError` of one line naming the flag, the rule and the value:
 * `--batch-size must be an integer >= 1, got "1.5"` (the value JSON-quoted, so a newline in it
 * cannot break the line). A blank value is refused: `Number('')` would make it 0.
 * The apps pass commander's `InvalidArgumentError` as `usageError`, so commander reports a bad
 * value as a usage error and the app exits 2; core itself does not depend on commander.
 */
export function numberFlag(flag: string, rule: NumberRule = {}, usageError: (message: string) => Error = (message) => new CliError(message)): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !meetsNumberRule(n, rule)) throw usageError(`${flag} must be ${describeNumberRule(rule)}, got ${JSON.stringify(value)}`);
    return n;
  };
}
