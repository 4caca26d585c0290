import { Writable } from 'node:stream';

/**
 * The plumbing every command-line app of the toolkit shares (gap-relm, mateconv and sgdd each had
 * the same lines): results go to `stdout`, logs and progress to `stderr`; a user error is one line
 * and exit code 2.
 */
export interface CliIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where interactive commands (mateconv chat) read lines; default process.stdin. */
  stdin?: NodeJS.ReadableStream;
}

export const processIO: CliIO = { stdout: process.stdout, stderr: process.stderr };

/** A user error (missing file, bad flag, bad config): printed as one line, exit code 2, no stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** One log line on the app's stderr. */
export function log(io: CliIO, message: string): void {
  io.stderr.write(`${message}\n`);
}

/** A `CliIO` that keeps what is written, for running a CLI in-process in tests. */
export class CapturedIO implements CliIO {
  private readonly out: string[] = [];
  private readonly err: string[] = [];
  readonly stdout = CapturedIO.sink(this.out);
  readonly stderr = CapturedIO.sink(this.err);

  get stdoutText(): string {
    return this.out.join('');
  }

  get stderrText(): string {
    return this.err.join('');
  }

  private static sink(into: string[]): Writable {
    return new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        into.push(chunk.toString());
        done();
      },
    });
  }
}
