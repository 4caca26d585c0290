/**
 * A batch whose rows sample with settings of their own: requests with different temperatures,
 * filters, penalties and seeds share the model calls of one `streamGenerate` loop, and each row
 * gets the tokens it would get alone.
 */
import { eosTokenIds, resolveGenerationConfig, SAMPLING_CONTROL_KEYS, type GenerationConfig, type SamplingControls } from './generation-config';
import { checkLogits, streamGenerate, type GenerateOptions, type TokenEvent } from './generate';
import type { CausalBatch, CausalLogits, CausalLogitsSource } from './logits-source';
import { pickToken } from './pick-token';
import { greedyToken, type RandomSource } from './sampler';

/** One row's own way of picking its tokens. */
export interface RowSampler {
  /** The row's sampling controls; missing fields take `DEFAULT_GENERATION_CONFIG`'s (greedy). */
  controls: Partial<SamplingControls>;
  /** The row's own random stream (required when `controls.doSample`): one `float()` per token it samples. */
  rng?: RandomSource;
  /**
   * Asked before each of the row's picks: true ends the row there with the EOS id instead (a stop
   * string found, a client gone). Without an EOS id it gets its raw argmax and runs on to
   * `maxNewTokens`; the caller ignores what follows.
   */
  stopped?: () => boolean;
}

/** The loop's settings shared by every row; the sampling controls are per row. */
export type PerRowGenerationConfig = Pick<GenerationConfig, 'maxNewTokens' | 'eosTokenId' | 'padTokenId'>;
const SHARED_KEYS: readonly string[] = ['maxNewTokens', 'eosTokenId', 'padTokenId'] satisfies (keyof PerRowGenerationConfig)[];

type ResolvedRow = { controls: SamplingControls; rng?: RandomSource; stopped?: () => boolean };

/**
 * A logits source that picks each row's token with `pickToken` and the row's own controls and
 * stream, then hands the loop a row where only that token is allowed (its greedy pick). It keeps
 * every row's sequence from the calls it forwards, as the penalties need it.
 */
class PerRowPicker implements CausalLogitsSource {
  readonly vocabSize: number;
  private readonly sequences: number[][] = [];
  private readonly picked: number[];
  private readonly ended: boolean[];
  private step = 0;

  constructor(
    private readonly inner: CausalLogitsSource,
    private readonly rows: readonly ResolvedRow[],
    private readonly eos: ReadonlySet<number>,
    private readonly stopToken: number | undefined,
    private readonly maxNewTokens: number,
    private readonly fn: string,
  ) {
    this.vocabSize = inner.vocabSize;
    this.picked = rows.map(() => 0);
    this.ended = rows.map(() => false);
  }

  async next(batch: CausalBatch): Promise<CausalLogits> {
    // 1. The sequences so far: whole rows on a first call (or without a cache), else one new token each.
    batch.tokens.forEach((tokens, b) => {
      if (batch.cache === undefined) this.sequences[b] = [...tokens];
      else this.sequences[b].push(tokens[0]);
    });
    const out = await this.inner.next(batch);
    const V = this.vocabSize;
    checkLogits(this.fn, out, this.rows.length, V, `step ${this.step++}`);
    for (let b = 0; b < this.rows.length; b++) {
      if (this.ended[b]) continue; // the loop no longer reads this row
      const row = out.logits.subarray(b * V, (b + 1) * V);
      const { controls, rng, stopped } = this.rows[b];
      const where = `${this.fn} (row ${b}, step ${this.picked[b]})`;
      // 2. A stopped row is given EOS (the loop then stops it); any other its own pick.
      const token = stopped?.() ? (this.stopToken ?? greedyToken(row, where)) : pickToken(row, this.sequences[b], controls, rng, where);
      this.ended[b] = this.eos.has(token) || ++this.picked[b] >= this.maxNewTokens;
      // 3. Only that token is left for the loop's greedy pick.
      row.fill(-Infinity);
      row[token] = 0;
    }
    return out;
  }
}

/**
 * `streamGenerate` where row b samples with `rows[b]`: its own controls, random stream and stop
 * test. Row b's tokens equal `generate([prompts[b]], source, { ...rows[b].controls, ...config },
 * { rng: rows[b].rng })` for a source whose rows do not depend on each other, so a request's
 * answer does not depend on the batch it shares. Events and the return value are
 * `streamGenerate`'s.
 */
export async function* streamGeneratePerRow(
  prompts: readonly (readonly number[])[],
  source: CausalLogitsSource,
  rows: readonly RowSampler[],
  config: Partial<PerRowGenerationConfig> = {},
  options: Pick<GenerateOptions, 'onToken'> = {},
): AsyncGenerator<TokenEvent, number[][], undefined> {
  const fn = 'streamGeneratePerRow';
  if (!Array.isArray(rows) || rows.length !== prompts?.length) {
    throw new RangeError(`${fn}: rows must hold one RowSampler per prompt (${prompts?.length} prompts), got ${Array.isArray(rows) ? rows.length : String(rows)}`);
  }
  const perRow = Object.keys(config ?? {}).find((key) => !SHARED_KEYS.includes(key));
  if (perRow !== undefined) throw new RangeError(`${fn}: config may set ${SHARED_KEYS.join(', ')} only; "${perRow}" goes in rows[b].controls`);
  const shared = resolveGenerationConfig(config, fn);
  const resolved = rows.map(({ controls, rng, stopped }, b): ResolvedRow => {
    const unknown = Object.keys(controls ?? {}).find((key) => !(SAMPLING_CONTROL_KEYS as readonly string[]).includes(key));
    if (unknown !== undefined) throw new RangeError(`${fn}: rows[${b}].controls: unknown key "${unknown}" (known: ${SAMPLING_CONTROL_KEYS.join(', ')})`);
    const c = resolveGenerationConfig(controls, `${fn}: rows[${b}].controls`);
    if (c.doSample && rng === undefined) throw new TypeError(`${fn}: rows[${b}] samples (doSample) but has no rng`);
    return { controls: c, rng, stopped };
  });
  const eos = eosTokenIds(shared);
  const picker = new PerRowPicker(source, resolved, new Set(eos), eos[0], shared.maxNewTokens, fn);
  return yield* streamGenerate(prompts, picker, config, options, fn);
}
