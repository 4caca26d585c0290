import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { DataError } from './data-error';

export interface NumberedLine {
  /** 1-based line number. */
  line: number;
  text: string;
}

/** Streams a UTF-8 text file line by line (LF or CRLF), without loading it whole. */
export async function* readLines(file: string): AsyncGenerator<NumberedLine> {
  const stream = createReadStream(file, { encoding: 'utf8' });
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const raw of reader) {
      line++;
      // Strip a UTF-8 byte-order mark on the first line.
      const text = line === 1 && raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
      yield { line, text };
    }
  } finally {
    reader.close();
    stream.destroy();
  }
}

/** Parses one JSONL line; a syntax error becomes a DataError naming file and line. */
export function parseJsonLine(text: string, file: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DataError(`invalid JSON: ${(error as Error).message}`, { file, line });
  }
}

/** Reads a string field of a parsed JSONL record, or throws a DataError naming it. */
export function stringField(record: unknown, field: string, file: string, line: number): string {
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new DataError('expected a JSON object', { file, line });
  }
  const value = (record as Record<string, unknown>)[field];
  if (typeof value !== 'string') {
    throw new DataError(`expected a string, got ${value === undefined ? 'nothing' : typeof value}`, {
      file,
      line,
      field,
    });
  }
  return value;
}
