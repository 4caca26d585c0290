/** Where a command writes: results to `stdout`, logs and progress to `stderr`. */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where interactive commands (chat) read lines; default process.stdin. */
  stdin?: NodeJS.ReadableStream;
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr };

/** A user error (missing file, bad flag, output in the way): one line, exit code 2, no stack. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export const log = (io: CliIO, message: string): void => {
  io.stderr.write(`${message}\n`);
};
