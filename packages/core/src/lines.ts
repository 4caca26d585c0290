import { createReadStream } from 'node:fs';
import { DataError } from './data-error';

export interface NumberedLine {
  /** 1-based line number. */
  line: number;
  text: string;
  /** Set when the line had bytes that are not UTF-8; each was replaced by U+FFFD in `text`. */
  invalidUtf8?: true;
  /** Set when the line was longer than `maxLineBytes`: its bytes (not kept), and `text` is ''. */
  tooLongBytes?: number;
}

export interface ReadLinesOptions {
  /**
   * Longest line kept, in bytes (default: no limit). A longer line is not held in memory: it comes
   * back as `{ text: '', tooLongBytes }` so the caller can skip and count it, and line numbers
   * stay right.
   */
  maxLineBytes?: number;
}

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lenient = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Streams a UTF-8 text file line by line (LF or CRLF), without loading it whole. Lines with bytes
 * that are not UTF-8 are marked (`invalidUtf8`) so callers can report them with file:line, and
 * `maxLineBytes` bounds the memory one line can take.
 */
export async function* readLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<NumberedLine> {
  const max = options.maxLineBytes ?? Infinity;
  let line = 0;
  /** One line from its bytes (without the newline). */
  const fromBytes = (buffer: Buffer, length = buffer.length): NumberedLine => {
    line++;
    if (length > max) return { line, text: '', tooLongBytes: length };
    const end = buffer.length > 0 && buffer[buffer.length - 1] === 13 ? buffer.length - 1 : buffer.length; // CRLF
    try {
      return numbered(line, strict.decode(buffer.subarray(0, end)));
    } catch {
      return { ...numbered(line, lenient.decode(buffer.subarray(0, end))), invalidUtf8: true };
    }
  };
  // The common case, a block of whole lines that is valid UTF-8, is decoded in one call.
  function* fromBlock(block: Buffer): Generator<NumberedLine> {
    let text: string | null = null;
    try {
      text = strict.decode(block);
    } catch {
      // Some line is not UTF-8: find it line by line.
    }
    if (text === null) {
      for (let start = 0; start <= block.length; ) {
        const newline = block.indexOf(10, start);
        const end = newline === -1 ? block.length : newline;
        yield fromBytes(block.subarray(start, end));
        start = end + 1;
      }
      return;
    }
    for (const raw of text.split('\n')) {
      const t = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      // A string of n UTF-16 units is at most 3n bytes: only long ones need counting.
      if (raw.length * 3 > max && Buffer.byteLength(raw) > max) {
        line++;
        yield { line, text: '', tooLongBytes: Buffer.byteLength(raw) };
      } else yield numbered(++line, t);
    }
  }
  const stream = createReadStream(file);
  let carry: Buffer[] = []; // the bytes of the line not yet ended (none kept once over max)
  let carryBytes = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const first = chunk.indexOf(10);
      if (first === -1) {
        carryBytes += chunk.length;
        if (carryBytes <= max) carry.push(chunk);
        else carry = [];
        continue;
      }
      const head = chunk.subarray(0, first);
      const length = carryBytes + head.length;
      yield fromBytes(length <= max ? Buffer.concat([...carry, head]) : head, length);
      const last = chunk.lastIndexOf(10);
      if (last > first) yield* fromBlock(chunk.subarray(first + 1, last));
      const tail = chunk.subarray(last + 1);
      carry = tail.length <= max ? [tail] : [];
      carryBytes = tail.length;
    }
    if (carryBytes > 0) yield fromBytes(carryBytes <= max ? Buffer.concat(carry) : Buffer.alloc(0), carryBytes); // a last line without a newline
  } finally {
    stream.destroy();
  }
}

/** A line, with a UTF-8 byte-order mark stripped from the first. */
function numbered(line: number, text: string): NumberedLine {
  return { line, text: line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
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
