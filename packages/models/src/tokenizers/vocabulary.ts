import { DataError } from '@proj/core';

/** A WordPiece vocabulary: token <-> id, ids dense from 0 (id = line index of vocab.txt). */
export class Vocabulary {
  private readonly ids: Map<string, number>;

  constructor(readonly tokens: readonly string[]) {
    this.ids = new Map();
    // A repeated token keeps its LAST id, as transformers' load_vocab (a dict) does.
    tokens.forEach((token, id) => this.ids.set(token, id));
  }

  /** Parses vocab.txt text: one token per line, LF or CRLF, a final newline optional. */
  static fromText(text: string): Vocabulary {
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    return new Vocabulary(lines.map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line)));
  }

  /** From a `{ token: id }` object (tokenizer.json `model.vocab`); ids must be 0..n-1, each once. */
  static fromIdMap(map: Record<string, unknown>, file: string, field: string): Vocabulary {
    const entries = Object.entries(map);
    const tokens: string[] = new Array(entries.length);
    for (const [token, id] of entries) {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= entries.length) {
        throw new DataError(`id of "${token}" must be an integer in [0, ${entries.length}), got ${JSON.stringify(id)}`, { file, field });
      }
      if (tokens[id] !== undefined) {
        throw new DataError(`id ${id} is used by both "${tokens[id]}" and "${token}"`, { file, field });
      }
      tokens[id] = token;
    }
    return new Vocabulary(tokens);
  }

  get size(): number {
    return this.tokens.length;
  }

  has(token: string): boolean {
    return this.ids.has(token);
  }

  /** The id of `token`, or undefined. */
  idOf(token: string): number | undefined {
    return this.ids.get(token);
  }

  /** The token of `id`; throws for an id outside the vocabulary. */
  tokenOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.tokens.length) {
      throw new RangeError(`Vocabulary.tokenOf: id must be an integer in [0, ${this.tokens.length}), got ${id}`);
    }
    return this.tokens[id];
  }

  /** vocab.txt content: one token per line, each followed by '\n'. */
  toText(): string {
    for (const [id, token] of this.tokens.entries()) {
      if (token.includes('\n') || token.includes('\r')) {
        throw new RangeError(`Vocabulary.toText: token ${id} contains a line break, got ${JSON.stringify(token)}`);
      }
    }
    return this.tokens.map((t) => `${t}\n`).join('');
  }
}
