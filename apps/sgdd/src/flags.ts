import { numberFlag as coreNumberFlag, type NumberRule } from '@proj/core';
import { InvalidArgumentError } from 'commander';

/** A bad flag value as commander's usage error: commander prints it with the option, and the app exits 2. */
export const usageError = (message: string): Error => new InvalidArgumentError(message);

/** A numeric flag's parser (`@proj/core`'s numberFlag) failing with commander's usage error. */
export const numberFlag = (flag: string, rule?: NumberRule): ((value: string) => number) => coreNumberFlag(flag, rule, usageError);
