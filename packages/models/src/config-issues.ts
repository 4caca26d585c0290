import type { z } from 'zod';

/**
 * One message for a failed zod parse of a config object (parsed with `reportInput: true`): each
 * bad field with its value, unknown keys with the known fields; cross-field checks already name
 * their fields. `what` names the config: `${caller}: invalid ${what} config: ...`.
 */
export function configError(caller: string, what: string, error: z.ZodError, knownFields: readonly string[]): RangeError {
  const problems = error.issues.map((issue) => {
    if (issue.code === 'custom') return issue.message;
    if (issue.code === 'unrecognized_keys') return `${issue.message} (known fields: ${knownFields.join(', ')})`;
    const field = issue.path.join('.') || '(config)';
    const got = 'input' in issue ? `, got ${JSON.stringify(issue.input) ?? String(issue.input)}` : '';
    return `${field}: ${issue.message}${got}`;
  });
  return new RangeError(`${caller}: invalid ${what} config: ${problems.join('; ')}`);
}
