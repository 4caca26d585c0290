/**
 * The autoregressive loop: ask the model for next-token logits, process them, pick a token per
 * row, append, repeat until every row has stopped (EOS or `maxNewTokens`).
 */
import { eosTokenIds, resolveGenerationConfig, type GenerationConfig } from './generation-config';
import type { CausalLogitsSource } from './logits-source';
import { pickToken } from './pick-token';
import type { RandomSource } from './sampler';

/** One generated token: `row` of the batch, `token` id, `step` = its index in that row's output. */
export interface TokenEvent {
  row: number;
  token: number;
  step: number;
}

export interface GenerateOptions {
  /** Required when `doSample` is true; one `float()` per unfinished row per step, rows in order. */
  rng?: RandomSource;
  /** Called for every token as soon as it is picked (the same events `streamGenerate` yields). */
  onToken?: (event: TokenEvent) => void;
  /**
   * Asked for each unfinished row before every model call: true ends the row there, with no more
   * tokens (a stop string found in its text). A stream's consumer has handled the events yielded
   * so far when it is asked.
   */
  stopped?: (row: number) => boolean;
}

function checkPrompts(fn: string, prompts: readonly (readonly number[])[], vocabSize: number): void {
  if (!Array.isArray(prompts)) throw new TypeError(`${fn}: prompts must be an array of token-id arrays, got ${String(prompts)}`);
  prompts.forEach((prompt, b) => {
    if (!Array.isArray(prompt) || prompt.length === 0) {
      throw new RangeError(`${fn}: prompts[${b}] must be a non-empty array of token ids (start it with a BOS token), got ${JSON.stringify(prompt)}`);
    }
    prompt.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 0 || t >= vocabSize) {
        throw new RangeError(`${fn}: prompts[${b}][${i}] must be a token id in [0, ${vocabSize}), got ${t}`);
      }
    });
  });
}

/** Throws unless `out.logits` is a Float32Array of `rows × vocabSize`; `when` says which call. */
export function checkLogits(fn: string, out: { logits?: unknown } | undefined, rows: number, vocabSize: number, when: string): void {
  if (!(out?.logits instanceof Float32Array) || out.logits.length !== rows * vocabSize) {
    const got = out?.logits instanceof Float32Array ? `${out.logits.length} logits` : String(out?.logits);
    throw new RangeError(`${fn}: source.next must return a Float32Array of ${rows} rows × ${vocabSize} logits = ${rows * vocabSize}, got ${got} (${when})`);
  }
}

/**
 * Streams the generation as `{ row, token, step }` events, step by step and, within a step, row by
 * row. The generator's return value is what `generate` returns. Stopping the iteration early
 * stops the model calls too.
 */
export async function* streamGenerate(
  prompts: readonly (readonly number[])[],
  source: CausalLogitsSource,
  config: Partial<GenerationConfig> = {},
  options: GenerateOptions = {},
  fn = 'streamGenerate',
): AsyncGenerator<TokenEvent, number[][], undefined> {
  const c = resolveGenerationConfig(config, fn);
  const V = source.vocabSize;
  if (!Number.isInteger(V) || V < 1) throw new RangeError(`${fn}: source.vocabSize must be an integer >= 1, got ${V}`);
  checkPrompts(fn, prompts, V);
  const { rng, onToken, stopped } = options;
  if (c.doSample && rng === undefined) throw new TypeError(`${fn}: doSample is true but no rng was given (pass { rng: new Rng(seed) })`);
  const eos = new Set(eosTokenIds(c));
  const pad = c.padTokenId ?? eosTokenIds(c)[0] ?? 0; // only fed once a row hit EOS, so an EOS id exists then
  for (const [name, id] of [['eosTokenId', Math.max(-1, ...eos)], ['padTokenId', pad]] as const) {
    if (id >= V) throw new RangeError(`${fn}: ${name} ${id} is outside the vocabulary (vocabSize ${V})`);
  }

  const B = prompts.length;
  const sequences = prompts.map((p) => [...p]); // prompt + generated (+ pads once stopped)
  const generated: number[][] = prompts.map(() => []);
  const done = new Array<boolean>(B).fill(c.maxNewTokens === 0);
  let cache: unknown = undefined;
  let newTokens: number[][] = [];
  for (let step = 0; ; step++) {
    // 0. Rows the caller ended (stop strings) take no more tokens.
    if (stopped) for (let b = 0; b < B; b++) done[b] ||= stopped(b);
    if (done.every(Boolean)) break;
    // 1. Next-token logits: full sequences on the first call or without a cache, else only what is new.
    const batch = cache === undefined ? { tokens: sequences.map((s) => s.slice()) } : { tokens: newTokens, cache };
    const out = await source.next(batch);
    checkLogits(fn, out, B, V, `step ${step}`);
    cache = out.cache;
    newTokens = [];
    for (let b = 0; b < B; b++) {
      // 2. A stopped row is fed pad; its logits are ignored.
      let token = pad;
      if (!done[b]) {
        // 3. Penalties and filters on a copy of the row, then argmax or one draw.
        token = pickToken(out.logits.subarray(b * V, (b + 1) * V), sequences[b], c, rng, `${fn} (row ${b}, step ${step})`);
        generated[b].push(token);
        // 4. The row stops at EOS (kept in its output) or when it has maxNewTokens.
        done[b] = eos.has(token) || generated[b].length >= c.maxNewTokens;
        const event = { row: b, token, step };
        onToken?.(event);
        yield event;
      }
      sequences[b].push(token);
      newTokens.push([token]);
    }
  }
  return generated;
}

/**
 * Generates up to `maxNewTokens` tokens after each prompt. Returns per row the generated ids only
 * (no prompt), ending with the EOS id if the row stopped there. Greedy by default; with
 * `doSample`, pass a seeded `rng` and the same seed gives the same tokens.
 */
export async function generate(
  prompts: readonly (readonly number[])[],
  source: CausalLogitsSource,
  config: Partial<GenerationConfig> = {},
  options: GenerateOptions = {},
): Promise<number[][]> {
  const stream = streamGenerate(prompts, source, config, options, 'generate');
  for (;;) {
    const next = await stream.next();
    if (next.done) return next.value;
  }
}
