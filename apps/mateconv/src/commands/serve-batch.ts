import { Rng } from '@proj/core';
import type { BpeTokenizer } from '@proj/models';
import {
  RowTextStream,
  streamGeneratePerRow,
  type CausalLogitsSource,
  type PerRowGenerationConfig,
  type RowSampler,
  type SamplingControls,
  type TextFinishReason,
} from '@proj/sampling';

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

export type FinishReason = TextFinishReason;

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

/**
 * Generates every job's row in one batch on `source` (prompts of different lengths are
 * left-padded by an onnxruntime source, grouped by length on tfjs), streaming each row's text
 * through its `onText`. Stops when every row has ended.
 */
export async function generateRows(jobs: readonly GenerationJob[], source: CausalLogitsSource, tokenizer: BpeTokenizer): Promise<GenerationResult[]> {
  const eos = tokenizer.special.eos?.id;
  const decode = (ids: readonly number[]) => tokenizer.decode([...ids], { skipSpecialTokens: true });
  // Each row's text: EOS, its stop strings and its own max tokens end it; the rest streams when certain.
  const rows = jobs.map((job) => ({
    job,
    text: new RowTextStream({ decode, stop: job.sampling.stop, eosTokenIds: eos === undefined ? [] : [eos], maxTokens: job.sampling.maxTokens, onText: job.onText }),
    firstTokenAt: undefined as number | undefined,
    lastTokenAt: undefined as number | undefined,
  }));
  const config: PerRowGenerationConfig = {
    maxNewTokens: Math.max(...jobs.map((j) => j.sampling.maxTokens)),
    eosTokenId: eos ?? null,
    padTokenId: tokenizer.special.pad?.id ?? eos ?? null,
  };
  const live = (r: (typeof rows)[number]) => r.text.finished === undefined && !r.job.cancelled?.();
  // Each row picks with its own settings and seeded stream, so its answer does not depend on its
  // batch; a row that ended here (stop string, its own max tokens, a client gone) is given EOS.
  const samplers = rows.map((r): RowSampler => {
    const { maxTokens: _maxTokens, seed, stop: _stop, ...controls } = r.job.sampling;
    return { controls, rng: new Rng(seed), stopped: () => !live(r) };
  });
  if (rows.some(live)) {
    for await (const { row, token } of streamGeneratePerRow(jobs.map((j) => j.ids), source, samplers, config)) {
      const r = rows[row];
      if (live(r)) {
        r.lastTokenAt = performance.now();
        r.firstTokenAt ??= r.lastTokenAt;
        await r.text.accept(token);
      }
      if (!rows.some(live)) break;
    }
  }
  const results: GenerationResult[] = [];
  for (const r of rows) {
    // A row the loop ended at maxNewTokens without EOS, or one whose client left.
    await r.text.end(r.job.cancelled?.() ? 'cancelled' : 'length');
    results.push({ text: r.text.text, completionTokens: r.text.tokens.length, finishReason: r.text.finished!, firstTokenAt: r.firstTokenAt, lastTokenAt: r.lastTokenAt });
  }
  return results;
}
