import { readFile } from 'node:fs/promises';
import { DataError, SkipCounter, readLines } from '@proj/core';

export type CleanFormat = 'txt' | 'json' | 'jsonl';

export interface CleanSentence {
  text: string;
  /** 1-based line number (txt, jsonl) or 1-based array element number (json). */
  line: number;
}

export interface ReadCleanOptions {
  /** txt: one sentence per line; jsonl: one object per line; json: an array of strings or objects. */
  format?: CleanFormat;
  /** The string field of jsonl / json objects (default "text"). */
  textField?: string;
  /** Where skipped records are counted; one is created when omitted (see `CleanSentences.skipped`). */
  skipped?: SkipCounter;
  /** txt / jsonl: longer lines are skipped and counted (`line_too_long`) without being held in memory; default 1 MiB. */
  maxLineBytes?: number;
}

/**
 * Clean sentences from a file, streamed (txt, jsonl) with bad records skipped and counted, never
 * thrown: `for await (const { text, line } of corpus) …; corpus.skipped.summary()`.
 * Text is trimmed; blank lines are not records and are not counted.
 */
export class CleanSentences implements AsyncIterable<CleanSentence> {
  readonly skipped: SkipCounter;
  readonly format: CleanFormat;
  readonly textField: string;
  readonly maxLineBytes: number;

  constructor(
    readonly file: string,
    options: ReadCleanOptions = {},
  ) {
    this.format = options.format ?? 'txt';
    if (!['txt', 'json', 'jsonl'].includes(this.format)) {
      throw new RangeError(`readCleanSentences: format must be 'txt', 'json' or 'jsonl', got ${JSON.stringify(this.format)}`);
    }
    this.textField = options.textField ?? 'text';
    this.skipped = options.skipped ?? new SkipCounter();
    this.maxLineBytes = options.maxLineBytes ?? 1 << 20;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<CleanSentence> {
    if (this.format === 'json') {
      yield* this.readJsonArray();
      return;
    }
    for await (const { line, text, tooLongBytes } of readLines(this.file, { maxLineBytes: this.maxLineBytes })) {
      if (tooLongBytes !== undefined) {
        this.skipped.add('line_too_long', `${this.file}:${line}: ${tooLongBytes} bytes, over the ${this.maxLineBytes}-byte line limit`);
        continue;
      }
      if (text.trim() === '') continue;
      if (this.format === 'txt') {
        yield { text: text.trim(), line };
        continue;
      }
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch (error) {
        this.skipped.add('invalid_json', `${this.file}:${line}: invalid JSON: ${(error as Error).message}`);
        continue;
      }
      const sentence = this.textOf(record, `${this.file}:${line}`);
      if (sentence !== undefined) yield { text: sentence, line };
    }
  }

  private async *readJsonArray(): AsyncGenerator<CleanSentence> {
    const raw = await readFile(this.file, 'utf8');
    let data: unknown;
    try {
      data = JSON.parse(raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw);
    } catch (error) {
      // One array: nothing can be salvaged, so this one is fatal.
      throw new DataError(`invalid JSON: ${(error as Error).message}`, { file: this.file });
    }
    if (!Array.isArray(data)) throw new DataError(`expected a JSON array of strings or objects, got ${typeof data}`, { file: this.file });
    for (let i = 0; i < data.length; i++) {
      const sentence = this.textOf(data[i], `${this.file}[element ${i + 1}]`);
      if (sentence !== undefined) yield { text: sentence, line: i + 1 };
    }
  }

  /** The trimmed sentence of a record, or undefined after counting why it was skipped. */
  private textOf(record: unknown, where: string): string | undefined {
    let value: unknown = record;
    if (typeof record !== 'string') {
      if (record === null || typeof record !== 'object' || Array.isArray(record)) {
        this.skipped.add('not_an_object', `${where}: expected ${this.format === 'json' ? 'a string or ' : ''}an object`);
        return undefined;
      }
      value = (record as Record<string, unknown>)[this.textField];
    } else if (this.format === 'jsonl') {
      this.skipped.add('not_an_object', `${where}: expected an object with field "${this.textField}"`);
      return undefined;
    }
    if (typeof value !== 'string') {
      this.skipped.add('missing_field', `${where} (field "${this.textField}"): expected a string, got ${value === undefined ? 'nothing' : typeof value}`);
      return undefined;
    }
    const text = value.trim();
    if (text === '') {
      this.skipped.add('empty_text', `${where} (field "${this.textField}"): empty text`);
      return undefined;
    }
    return text;
  }
}

/** Clean sentences of `file` (see `CleanSentences`). */
export function readCleanSentences(file: string, options: ReadCleanOptions = {}): CleanSentences {
  return new CleanSentences(file, options);
}
