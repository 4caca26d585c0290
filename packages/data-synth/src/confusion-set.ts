import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { TextDecoder } from 'node:util';
import { DataError, SkipCounter } from '@proj/core';

/** The on-disk formats a confusion set can be read from. */
export type ConfusionFormat = 'same_pinyin' | 'same_stroke' | 'json';

/** A confusion file; `format` is inferred from the file name when omitted (see `inferConfusionFormat`). */
export type ConfusionFile = string | { path: string; format?: ConfusionFormat };

/**
 * What to do with a malformed line: `'throw'` (default) raises a DataError naming file:line;
 * a `SkipCounter` skips the line and counts it there, so nothing is dropped silently.
 */
export interface ConfusionLoadOptions {
  onBadLine?: 'throw' | SkipCounter;
}

const codePointCount = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/**
 * Character → characters a writer could type instead (same pronunciation, similar shape).
 * Directional: `same_pinyin.txt` lists are not symmetric. A character never maps to itself.
 */
export class ConfusionSet {
  private readonly map: Map<string, string[]>;

  // Private so every instance comes from a Builder: no self-mappings, no duplicates, no empty lists.
  private constructor(map: Map<string, string[]>) {
    this.map = map;
  }

  /** Number of characters that have at least one confusable character. */
  get size(): number {
    return this.map.size;
  }

  /** The confusable characters of `char`, or an empty array. */
  get(char: string): readonly string[] {
    return this.map.get(char) ?? EMPTY;
  }

  has(char: string): boolean {
    return this.map.has(char);
  }

  entries(): IterableIterator<[string, readonly string[]]> {
    return this.map.entries();
  }

  /** A plain `{char: "chars"}` object, the same shape `fromJson` reads. */
  toJSON(): Record<string, string> {
    return Object.fromEntries([...this.map].map(([k, v]) => [k, v.join('')]));
  }

  /** Builds a set from `{char: [chars] | "chars"}`; self-mappings and duplicates are dropped. */
  static fromRecord(record: Record<string, readonly string[] | string>): ConfusionSet {
    const builder = new Builder();
    for (const [char, value] of Object.entries(record)) builder.addAll(char, typeof value === 'string' ? [...value] : value);
    return new ConfusionSet(builder.build());
  }

  /** Union of several sets; for each character, the first set's order comes first. */
  static merge(...sets: ConfusionSet[]): ConfusionSet {
    const builder = new Builder();
    for (const set of sets) for (const [char, values] of set.map) builder.addAll(char, values);
    return new ConfusionSet(builder.build());
  }

  /**
   * pycorrector `same_pinyin.txt`: `char TAB same-tone chars TAB other-tone chars`; `#` lines are
   * comments (the header). The other-tone column may be missing (81 lines of the bundled file).
   */
  static parseSamePinyin(text: string, file: string, options: ConfusionLoadOptions = {}): ConfusionSet {
    const builder = new Builder();
    forEachLine(text, (line, lineNo) => {
      if (line.startsWith('#')) return;
      const fields = line.split('\t');
      if (fields.length < 2 || fields.length > 3) {
        return bad(options, file, lineNo, 'bad_column_count', `expected 2 or 3 TAB-separated columns, got ${fields.length}`);
      }
      if (codePointCount(fields[0]) !== 1) {
        return bad(options, file, lineNo, 'bad_key', `first column must be one character, got "${fields[0]}"`);
      }
      const values = [...fields.slice(1).join('')].filter((c) => !/\s/u.test(c));
      builder.addAll(fields[0], values);
    });
    return new ConfusionSet(builder.build());
  }

  /** pycorrector `same_stroke.txt`: each line is a TAB-separated group; every member confuses with the others. */
  static parseSameStroke(text: string, file: string, options: ConfusionLoadOptions = {}): ConfusionSet {
    const builder = new Builder();
    forEachLine(text, (line, lineNo) => {
      if (line.startsWith('#')) return;
      const group = line.split('\t').filter((f) => f !== '');
      const wrong = group.find((f) => codePointCount(f) !== 1);
      if (wrong !== undefined) return bad(options, file, lineNo, 'bad_member', `each column must be one character, got "${wrong}"`);
      if (new Set(group).size < 2) return bad(options, file, lineNo, 'group_too_small', 'a group needs at least 2 different characters');
      for (const char of group) builder.addAll(char, group);
    });
    return new ConfusionSet(builder.build());
  }

  /** A JSON object `{char: [chars] | "chars"}`. Bad entries are reported by key (JSON has no useful line). */
  static parseJson(text: string, file: string, options: ConfusionLoadOptions = {}): ConfusionSet {
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (error) {
      throw new DataError(`invalid JSON: ${(error as Error).message}`, { file });
    }
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new DataError('expected a JSON object {char: [chars] | "chars"}', { file });
    }
    const builder = new Builder();
    for (const [char, value] of Object.entries(record)) {
      const fail = (reason: string, message: string) => {
        if (options.onBadLine instanceof SkipCounter) options.onBadLine.add(reason, `${file} (field "${char}"): ${message}`);
        else throw new DataError(message, { file, field: char });
      };
      if (codePointCount(char) !== 1) {
        fail('bad_key', 'key must be one character');
        continue;
      }
      const values = typeof value === 'string' ? [...value] : value;
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' || codePointCount(v) !== 1)) {
        fail('bad_value', 'value must be a string or an array of one-character strings');
        continue;
      }
      builder.addAll(char, values as string[]);
    }
    return new ConfusionSet(builder.build());
  }

  /** Reads one confusion file (format from `file.format` or the file name). */
  static async load(file: ConfusionFile, options: ConfusionLoadOptions = {}): Promise<ConfusionSet> {
    const path = typeof file === 'string' ? file : file.path;
    const format = (typeof file === 'string' ? undefined : file.format) ?? inferConfusionFormat(path);
    let text = await readFile(path, 'utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    if (format === 'same_pinyin') return ConfusionSet.parseSamePinyin(text, path, options);
    if (format === 'same_stroke') return ConfusionSet.parseSameStroke(text, path, options);
    return ConfusionSet.parseJson(text, path, options);
  }

  /**
   * The set a job uses: the merge of `files`, or the built-in homophone set when none are given.
   * Workers call this with the same paths, so only paths cross the thread boundary.
   */
  static async fromFiles(files: readonly ConfusionFile[] | undefined, options: ConfusionLoadOptions = {}): Promise<ConfusionSet> {
    if (!files || files.length === 0) return ConfusionSet.default();
    const sets = [];
    for (const file of files) sets.push(await ConfusionSet.load(file, options));
    return ConfusionSet.merge(...sets);
  }

  /**
   * Built-in homophones, so synthesis runs with no files: the 3,755 level-1 characters of
   * GB2312 (the standard "common characters" list) grouped by toneless pinyin (pinyin-pro's most
   * likely reading). Built on first use (~40 ms) and cached.
   */
  static default(): ConfusionSet {
    defaultSet ??= new ConfusionSet(buildDefaultMap());
    return defaultSet;
  }
}

const EMPTY: readonly string[] = Object.freeze([]);
let defaultSet: ConfusionSet | undefined;

/** `*.json` → json; a name containing "stroke" → same_stroke; "pinyin" → same_pinyin. */
export function inferConfusionFormat(path: string): ConfusionFormat {
  const name = basename(path).toLowerCase();
  if (name.endsWith('.json')) return 'json';
  if (name.includes('stroke')) return 'same_stroke';
  if (name.includes('pinyin')) return 'same_pinyin';
  throw new Error(`inferConfusionFormat: cannot tell the format of "${path}"; pass { path, format: 'same_pinyin' | 'same_stroke' | 'json' }`);
}

class Builder {
  private readonly map = new Map<string, string[]>();
  private readonly seen = new Map<string, Set<string>>();

  addAll(char: string, values: Iterable<string>): void {
    for (const value of values) {
      if (value === char) continue; // a "confusion" with itself is no error at all
      let seen = this.seen.get(char);
      if (!seen) {
        seen = new Set();
        this.seen.set(char, seen);
        this.map.set(char, []);
      }
      if (seen.has(value)) continue;
      seen.add(value);
      this.map.get(char)!.push(value);
    }
  }

  build(): Map<string, string[]> {
    return this.map;
  }
}

function forEachLine(text: string, visit: (line: string, lineNo: number) => void): void {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (line.trim() === '') continue;
    visit(line, i + 1);
  }
}

function bad(options: ConfusionLoadOptions, file: string, line: number, reason: string, message: string): void {
  if (options.onBadLine instanceof SkipCounter) options.onBadLine.add(reason, `${file}:${line}: ${message}`);
  else throw new DataError(message, { file, line });
}

/** GB2312 level 1: rows 0xB0–0xD7, cells 0xA1–0xFE, minus the 5 empty cells at the end of 0xD7. */
function gb2312Level1(): string[] {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder('gbk', { fatal: true });
  } catch {
    // Node built without full ICU: fall back to the whole basic CJK block (rarer chars included).
    return Array.from({ length: 0x9fa5 - 0x4e00 + 1 }, (_, i) => String.fromCodePoint(0x4e00 + i));
  }
  const chars: string[] = [];
  for (let row = 0xb0; row <= 0xd7; row++) {
    for (let cell = 0xa1; cell <= 0xfe; cell++) {
      if (row === 0xd7 && cell > 0xf9) continue;
      chars.push(decoder.decode(Uint8Array.of(row, cell)));
    }
  }
  return chars;
}

function buildDefaultMap(): Map<string, string[]> {
  // Loaded on first use only: pinyin-pro's dictionary costs ~70 ms per thread, and jobs given
  // confusion files (every synthesis worker among them) never need it.
  const { pinyin } = createRequire(import.meta.url)('pinyin-pro') as typeof import('pinyin-pro');
  const groups = new Map<string, string[]>();
  for (const char of gb2312Level1()) {
    const reading = pinyin(char, { toneType: 'none' });
    if (!/^[a-zü]+$/.test(reading)) continue; // no reading known: pinyin-pro echoes the char
    const group = groups.get(reading);
    if (group) group.push(char);
    else groups.set(reading, [char]);
  }
  const builder = new Builder();
  for (const group of groups.values()) for (const char of group) builder.addAll(char, group);
  return builder.build();
}
