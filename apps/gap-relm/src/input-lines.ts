import { type NumberedLine, SkipCounter, readLines } from '@proj/core';
import { type CliIO, log } from './cli-io';

/**
 * Longest input line a command keeps, in bytes. A longer one is skipped and counted without being
 * held in memory, so one huge line (a file with no newlines) cannot exhaust it.
 */
export const MAX_LINE_BYTES = 1 << 20;

/** What reading a user's text file found: skipped lines and lines read with replaced bytes. */
export class InputReport {
  /** Lines skipped (too long here; commands add their own reasons). */
  readonly skips = new SkipCounter();
  /** Lines with bytes that are not UTF-8: read with U+FFFD in their place, and reported. */
  readonly invalidUtf8 = new SkipCounter();
  /** Lines with any text. */
  nonBlank = 0;

  /** Logs the findings on stderr, one summary line each with file:line examples. */
  log(io: CliIO, command: string, file: string): void {
    if (this.nonBlank === 0) log(io, `${command}: warning: ${file} is empty (no line with text)`);
    if (this.invalidUtf8.count > 0) {
      log(io, `${command}: warning: ${this.invalidUtf8.count} line${this.invalidUtf8.count === 1 ? '' : 's'} with bytes that are not UTF-8, read with U+FFFD in their place: ${this.invalidUtf8.examples.join('; ')}`);
    }
  }
}

/** readLines with the line cap, counting what `report` counts; a too-long line comes back with text ''. */
export async function* inputLines(file: string, report: InputReport): AsyncGenerator<NumberedLine> {
  for await (const l of readLines(file, { maxLineBytes: MAX_LINE_BYTES })) {
    if (l.tooLongBytes !== undefined) report.skips.add('line_too_long', `${file}:${l.line}: ${l.tooLongBytes} bytes, over the ${MAX_LINE_BYTES}-byte line limit`);
    else if (l.text.trim() !== '') report.nonBlank++;
    if (l.invalidUtf8) report.invalidUtf8.add('invalid_utf8', `${file}:${l.line}`);
    yield l;
  }
}
