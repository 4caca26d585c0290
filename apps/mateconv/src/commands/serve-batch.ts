import { Rng } from '@proj/core';
import type { BpeTokenizer } from '@proj/models';
import { greedyToken, processLogits, sampleToken, streamGenerate, type CausalBatch, type CausalLogits, type CausalLogitsSource, type GenerationConfig } from '@proj/sampling';

/** One request's sampling settings (the OpenAI fields, in @proj/sampling's names). */
export type RowSampling = Pick<GenerationConfig, 'doSample' | 'temperature' | 'topK' | 'topP' | 'minP' | 'repetitionPenalty' | 'noRepeatNgramSize'> & {
  /** Most tokens generated for the row (`max_tokens`). */
  maxTokens: number;
  /** Seeds the row's own random stream: its draws do not depend on the batch it runs in. */
  seed: number;
  /** The text ends before the first of these (`stop`), which is left out. */
  stop: string[];
};

/** One prompt row of a request, as the batcher queues it. */
export interface GenerationJob {
  /** The prompt's token ids (BOS first, or the rendered chat template). */
  ids: number[];
  sampling: RowSampling;
  /** Streaming: called with each piece of text as soon as it is certain (no half character, no possible start of a stop string). */
  onText?: (delta: string) => void;
  /** True once nobody waits for the row (the client left): it stops at the next step. */
  cancelled?: () => boolean;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface GenerationResult {
  /** The generated text, without the stop string or EOS; the streamed pieces concatenate to it. */
  text: string;
  /** Tokens the model generated for the row (an EOS that ended it included). */
  completionTokens: number;
  finishReason: FinishReason;
  /** `performance.now()` when the row's first and last tokens were picked (undefined: none was). */
  firstTokenAt?: number;
  lastTokenAt?: number;
}

/** How much of the end of `text` could be the start of a stop string (held back while streaming). */
function stopPrefixAtEnd(text: string, stop: readonly string[]): number {
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

/** The text of one row as its tokens arrive: stop strings, EOS, max tokens, streamed pieces. */
class RowText {
  private readonly ids: number[] = [];
  private shown = '';
  completionTokens = 0;
  finished: FinishReason | undefined;
  firstTokenAt: number | undefined;
  lastTokenAt: number | undefined;
  text = '';

  constructor(
    readonly job: GenerationJob,
    private readonly tokenizer: BpeTokenizer,
    private readonly eos: number | undefined,
  ) {}

  /** Takes the next token: ends the row at EOS, a stop string or `maxTokens`, else streams what is certain. */
  async accept(token: number): Promise<void> {
    this.lastTokenAt = performance.now();
    this.firstTokenAt ??= this.lastTokenAt;
    this.completionTokens++;
    if (token === this.eos) return this.finish('stop', this.text);
    this.ids.push(token);
    const text = await this.tokenizer.decode(this.ids, { skipSpecialTokens: true });
    this.text = text;
    const { stop } = this.job.sampling;
    const at = Math.min(...stop.map((s) => text.indexOf(s)).filter((i) => i >= 0));
    if (at < Infinity) return this.finish('stop', text.slice(0, at));
    if (this.ids.length >= this.job.sampling.maxTokens) return this.finish('length', text);
    // Hold back a trailing U+FFFD (a character whose bytes have not all arrived) and a possible stop-string start.
    const settled = text.replace(/\uFFFD+$/, '');
    this.emit(settled.slice(0, settled.length - stopPrefixAtEnd(settled, stop)));
  }

  finish(reason: FinishReason, text: string): void {
    this.finished = reason;
    this.text = text;
    if (reason !== 'cancelled') this.emit(text);
  }

  private emit(ready: string): void {
    // Decoding a longer prefix only ever extends the settled text; anything else waits for the end.
    if (ready.length > this.shown.length && ready.startsWith(this.shown)) {
      this.job.onText?.(ready.slice(this.shown.length));
      this.shown = ready;
    }
  }
}

/**
 * A logits source that picks each row's token with the row's own settings and random stream, and
 * hands the loop a row where only that token is allowed. `generate` of @proj/sampling applies one
 * config to the whole batch; this lets requests with different temperatures, penalties and seeds
 * share a batch (and its model calls) while each row samples exactly as it would alone. Rows that
 * ended here (stop string, their own max tokens, a client gone) are given EOS, so the loop stops
 * feeding them.
 */
class PerRowPicker implements CausalLogitsSource {
  readonly vocabSize: number;
  private readonly sequences: number[][] = [];
  private readonly rngs: Rng[];

  constructor(
    private readonly inner: CausalLogitsSource,
    private readonly rows: RowText[],
    private readonly eos: number | undefined,
  ) {
    this.vocabSize = inner.vocabSize;
    this.rngs = rows.map((r) => new Rng(r.job.sampling.seed));
  }

  async next(batch: CausalBatch): Promise<CausalLogits> {
    // 1. The sequences so far: whole rows on a first call (or without a cache), else one new token each.
    batch.tokens.forEach((tokens, b) => {
      if (batch.cache === undefined) this.sequences[b] = [...tokens];
      else this.sequences[b].push(tokens[0]);
    });
    const out = await this.inner.next(batch);
    const V = this.vocabSize;
    for (let b = 0; b < this.rows.length; b++) {
      const row = out.logits.subarray(b * V, (b + 1) * V);
      const { finished, job } = this.rows[b];
      let token: number;
      if (finished !== undefined || job.cancelled?.()) token = this.eos ?? greedyToken(row);
      else {
        // 2. The row's own penalties, filters and draw (processLogits works on a copy).
        const processed = processLogits(row.slice(), this.sequences[b], job.sampling);
        token = job.sampling.doSample ? sampleToken(processed, this.rngs[b], 'serve') : greedyToken(processed, 'serve');
      }
      // 3. Only that token is left for the loop's greedy pick.
      row.fill(-Infinity);
      row[token] = 0;
    }
    return out;
  }
}

/**
 * Generates every job's row in one batch on `source` (prompts of different lengths are
 * left-padded by an onnxruntime source, grouped by length on tfjs), streaming each row's text
 * through its `onText`. Stops when every row has ended.
 */
export async function generateRows(jobs: readonly GenerationJob[], source: CausalLogitsSource, tokenizer: BpeTokenizer): Promise<GenerationResult[]> {
  const eos = tokenizer.special.eos?.id;
  const rows = jobs.map((job) => new RowText(job, tokenizer, eos));
  const config: Partial<GenerationConfig> = {
    maxNewTokens: Math.max(...jobs.map((j) => j.sampling.maxTokens)),
    eosTokenId: eos ?? null,
    padTokenId: tokenizer.special.pad?.id ?? eos ?? null,
  };
  const live = (r: RowText) => r.finished === undefined && !r.job.cancelled?.();
  if (rows.some(live)) {
    for await (const { row, token } of streamGenerate(jobs.map((j) => j.ids), new PerRowPicker(source, rows, eos), config)) {
      if (live(rows[row])) await rows[row].accept(token);
      if (!rows.some(live)) break;
    }
  }
  return rows.map((r) => {
    // A row the loop ended at maxNewTokens without EOS, or one whose client left.
    if (r.finished === undefined) r.finish(r.job.cancelled?.() ? 'cancelled' : 'length', r.text);
    return { text: r.text, completionTokens: r.completionTokens, finishReason: r.finished!, firstTokenAt: r.firstTokenAt, lastTokenAt: r.lastTokenAt };
  });
}
