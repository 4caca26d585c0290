import { Rng } from '@proj/core';
import type { BpeTokenizer } from '@proj/models';
import { streamGeneratePerRow, type CausalLogitsSource, type PerRowGenerationConfig, type RowSampler, type SamplingControls } from '@proj/sampling';

/** One request's sampling settings (the OpenAI fields, in @proj/sampling's names). */
export type RowSampling = SamplingControls & {
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
 * Generates every job's row in one batch on `source` (prompts of different lengths are
 * left-padded by an onnxruntime source, grouped by length on tfjs), streaming each row's text
 * through its `onText`. Stops when every row has ended.
 */
export async function generateRows(jobs: readonly GenerationJob[], source: CausalLogitsSource, tokenizer: BpeTokenizer): Promise<GenerationResult[]> {
  const eos = tokenizer.special.eos?.id;
  const rows = jobs.map((job) => new RowText(job, tokenizer, eos));
  const config: PerRowGenerationConfig = {
    maxNewTokens: Math.max(...jobs.map((j) => j.sampling.maxTokens)),
    eosTokenId: eos ?? null,
    padTokenId: tokenizer.special.pad?.id ?? eos ?? null,
  };
  const live = (r: RowText) => r.finished === undefined && !r.job.cancelled?.();
  // Each row picks with its own settings and seeded stream, so its answer does not depend on its
  // batch; a row that ended here (stop string, its own max tokens, a client gone) is given EOS.
  const samplers = rows.map((r): RowSampler => {
    const { maxTokens: _maxTokens, seed, stop: _stop, ...controls } = r.job.sampling;
    return { controls, rng: new Rng(seed), stopped: () => !live(r) };
  });
  if (rows.some(live)) {
    for await (const { row, token } of streamGeneratePerRow(jobs.map((j) => j.ids), source, samplers, config)) {
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
