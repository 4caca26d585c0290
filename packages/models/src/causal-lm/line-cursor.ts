import { open } from 'node:fs/promises';

/** Where to start or resume reading a file: a byte offset at a line start and that line's number. */
export interface LinePosition {
  /** Byte offset of the next line's first byte. */
  offset: number;
  /** 1-based number of the next line. */
  line: number;
}

export interface CursorLine {
  /** 1-based line number. */
  line: number;
  /** The line's text without its LF / CRLF (and without a leading BOM on line 1). */
  text: string;
  /** Position of the line after this one, for resuming. */
  next: LinePosition;
}

/**
 * Streams a UTF-8 file's lines from a byte position, yielding with each line the position after it,
 * so a job can record where it stopped and resume there. Invalid UTF-8 becomes U+FFFD.
 */
export async function* readLinesFrom(file: string, start: LinePosition = { offset: 0, line: 1 }, chunkBytes = 1 << 20): AsyncGenerator<CursorLine> {
  const handle = await open(file, 'r');
  const decoder = new TextDecoder('utf-8');
  try {
    let position = start.offset;
    let line = start.line;
    let carry = Buffer.alloc(0);
    const buffer = Buffer.allocUnsafe(chunkBytes);
    const emit = (bytes: Buffer, end: number): CursorLine => {
      let text = decoder.decode(bytes);
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      const out = { line, text, next: { offset: end, line: line + 1 } };
      line++;
      return out;
    };
    while (true) {
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, position);
      if (bytesRead === 0) break;
      const data = carry.length > 0 ? Buffer.concat([carry, buffer.subarray(0, bytesRead)]) : buffer.subarray(0, bytesRead);
      const base = position - carry.length;
      position += bytesRead;
      let from = 0;
      for (let nl = data.indexOf(0x0a, from); nl >= 0; nl = data.indexOf(0x0a, from)) {
        yield emit(data.subarray(from, nl), base + nl + 1);
        from = nl + 1;
      }
      carry = Buffer.from(data.subarray(from));
    }
    // A last line without a final newline.
    if (carry.length > 0) yield emit(carry, position);
  } finally {
    await handle.close();
  }
}
