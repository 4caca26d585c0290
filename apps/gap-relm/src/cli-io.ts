import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Where a command writes: results to `stdout`, logs and progress to `stderr`. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr };

/** A user error (missing file, bad flag): printed as one line, exit code 2, no stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export function log(io: CliIO, message: string): void {
  io.stderr.write(`${message}\n`);
}

/** Checks an input file exists; the error names the flag that gave it. */
export function requireFile(path: string, flag: string): string {
  if (!existsSync(path)) throw new CliError(`${flag}: file not found: ${path}`);
  return path;
}

/**
 * Refuses two flags naming the same file (`--output X --rejects X`, `--input X --output X`): one
 * write would replace the other's, or the input, and the command would still exit 0. Unset flags
 * are ignored.
 */
export function requireDistinctPaths(paths: Record<string, string | undefined>): void {
  const seen = new Map<string, string>();
  for (const [flag, path] of Object.entries(paths)) {
    if (path === undefined) continue;
    const key = resolve(path);
    const other = seen.get(key);
    if (other !== undefined) throw new CliError(`${other} and ${flag} name the same file (${path}); give them different paths`);
    seen.set(key, flag);
  }
}
