import { Writable } from 'node:stream';
import { runCli } from './program';

/** A writable that keeps what is written (tests only). */
export class Capture extends Writable {
  text = '';
  /** Each write, in order (to tell streamed output from output written at the end). */
  readonly writes: string[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.writes.push(chunk.toString());
    this.text += chunk.toString();
    done();
  }
}

/** Runs the CLI in-process with captured output and optional stdin (tests only). */
export async function cliWithInput(stdin: NodeJS.ReadableStream | undefined, ...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runCli(argv, { stdout, stderr, stdin });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

export const cli = (...argv: string[]) => cliWithInput(undefined, ...argv);
