/**
 * A generated row as text: its tokens decoded as they arrive, ended by EOS, a stop string or its
 * token budget, and streamed in pieces that are certain (no half character, nothing that may yet
 * turn out to be part of a stop string).
 */

/** Decodes a row's generated ids to text (a tokenizer's decode, special tokens skipped). */
export type TokenDecoder = (ids: readonly number[]) => string | Promise<string>;

/** Why a row's text ended: EOS or a stop string, its token budget, or nobody listening any more. */
export type TextFinishReason = 'stop' | 'length' | 'cancelled';

/** Where the first stop string in `text` starts (the earliest start of any of them), or -1. */
export function findStopString(text: string, stop: readonly string[]): number {
  let at = -1;
  for (const s of stop) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) at = i;
  }
  return at;
}

/** How many characters at the end of `text` could be the start of a stop string (held back while streaming). */
export function stopPrefixLength(text: string, stop: readonly string[]): number {
  let longest = 0;
  for (const s of stop) {
    for (let k = Math.min(s.length - 1, text.length); k > longest; k--) {
      if (text.endsWith(s.slice(0, k))) {
        longest = k;
        break;
      }
    }
  }
  return longest;
}

export interface RowTextStreamOptions {
  decode: TokenDecoder;
  /** The text ends before the first of these, which is left out; empty strings are refused. */
  stop?: readonly string[];
  /** Token ids that end the row (kept out of the text). */
  eosTokenIds?: readonly number[];
  /** The row ends with 'length' after this many tokens; default no limit (the loop's own). */
  maxTokens?: number;
  /** Called with each new piece of text as soon as it is certain; the pieces concatenate to `text`. */
  onText?: (delta: string) => void;
  /** Called once when the row ends, after its last piece of text. */
  onEnd?: (reason: TextFinishReason) => void;
}

/** One row's text as its tokens arrive: `accept` each token, then `end` when the loop stops. */
export class RowTextStream {
  /** Every token accepted (an EOS that ended the row included). */
  readonly tokens: number[] = [];
  /** The text so far; once finished, the final text (cut before a stop string). */
  text = '';
  finished: TextFinishReason | undefined;
  private readonly ids: number[] = [];
  private readonly stop: readonly string[];
  private readonly eos: ReadonlySet<number>;
  private shown = '';
  private decoded = 0;

  constructor(private readonly options: RowTextStreamOptions) {
    this.stop = options.stop ?? [];
    if (this.stop.some((s) => typeof s !== 'string' || s === '')) throw new RangeError(`RowTextStream: stop strings must be non-empty strings, got ${JSON.stringify(this.stop)}`);
    this.eos = new Set(options.eosTokenIds ?? []);
  }

  /** Takes the next token: ends the row at EOS, a stop string or `maxTokens`, else streams what is certain. */
  async accept(token: number): Promise<void> {
    if (this.finished !== undefined) throw new RangeError(`RowTextStream.accept: the row already ended (${this.finished}), got token ${token}`);
    this.tokens.push(token);
    if (this.eos.has(token)) return this.end('stop');
    this.ids.push(token);
    // Without stop strings or a listener the text is only needed at the end.
    if (this.stop.length > 0 || this.options.onText) {
      const text = await this.decodeIds();
      const at = findStopString(text, this.stop);
      if (at >= 0) return this.finish('stop', text.slice(0, at));
      // Hold back a trailing U+FFFD (a character whose bytes have not all arrived) and a possible stop-string start.
      const settled = text.replace(/\uFFFD+$/, '');
      this.emit(settled.slice(0, settled.length - stopPrefixLength(settled, this.stop)));
    }
    if (this.ids.length >= (this.options.maxTokens ?? Infinity)) return this.end('length');
  }

  /** Ends the row with the text of every token so far (streamed unless 'cancelled'). A second end is ignored. */
  async end(reason: TextFinishReason): Promise<void> {
    if (this.finished !== undefined) return;
    this.finish(reason, await this.decodeIds());
  }

  private async decodeIds(): Promise<string> {
    if (this.decoded !== this.ids.length) {
      this.text = await this.options.decode(this.ids);
      this.decoded = this.ids.length;
    }
    return this.text;
  }

  private finish(reason: TextFinishReason, text: string): void {
    this.finished = reason;
    this.text = text;
    if (reason !== 'cancelled') this.emit(text);
    this.options.onEnd?.(reason);
  }

  private emit(ready: string): void {
    // Decoding a longer prefix only ever extends the settled text; anything else waits for the end.
    if (ready.length > this.shown.length && ready.startsWith(this.shown)) {
      this.options.onText?.(ready.slice(this.shown.length));
      this.shown = ready;
    }
  }
}
