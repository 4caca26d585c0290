import { existsSync } from 'node:fs';

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
