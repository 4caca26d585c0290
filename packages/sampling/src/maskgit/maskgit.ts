import { sampleToken, type RandomSource } from '../autoregressive/sampler';
import { denoisePasses, guidedLogits } from './cfg';
import { resolveMaskGitConfig, type MaskGitConfig } from './config';
import type { DenoiserCandidates, DenoiserLogitsSource, DenoiserStep } from './logits-source';
import { maskedCountAfterStep } from './schedule';

export interface MaskGitDecodeOptions {
  /** Rows B, all of length `length`. Not needed with `lengths` (if given, it must match). */
  batch?: number;
  /** Tokens per row, when all rows have the same length. */
  length?: number;
  /** Tokens per row, when they differ; shorter rows are padded with `source.padId` up to the longest. */
  lengths?: readonly number[];
  config?: Partial<MaskGitConfig>;
  /**
   * Needed when `temperature` or `choiceTemperature` is > 0. One source is drawn from row by row;
   * one per row (B of them) makes each row's result independent of the rest of the batch.
   */
  rng?: RandomSource | readonly RandomSource[];
  /**
   * Known tokens per row (infilling, prompts): a row's length of token ids with `source.maskId`
   * where the decoder chooses; `null` / missing = all chosen. Fixed tokens are never re-masked,
   * and the schedule counts only the positions to choose.
   */
  fixed?: readonly (ArrayLike<number> | null | undefined)[];
  /** Record every step in `trace`. */
  trace?: boolean;
}

/** What one step did. */
export interface MaskGitStep {
  /** 0-based step index. */
  step: number;
  /** Per row: positions still masked after the step (the schedule's count). */
  maskedAfter: number[];
  /** Per row: positions unmasked in this step, most confident first. */
  revealed: number[][];
  /** Per row: the tokens after the step, `maskId` where still masked. */
  tokens: Int32Array[];
}

export interface MaskGitResult {
  /** Per row, its own length: no `[MASK]` and no padding left. */
  tokens: Int32Array[];
  /** The resolved config (log it beside results). */
  config: MaskGitConfig;
  trace?: MaskGitStep[];
}

const FN = 'maskGitDecode';

function checkTokenId(name: string, value: unknown, vocabSize: number): void {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) >= vocabSize) {
    throw new RangeError(`${FN}: ${name} must be an integer in [0, ${vocabSize}), got ${String(value)}`);
  }
}

function resolveLengths(options: MaskGitDecodeOptions): number[] {
  const { batch, length, lengths } = options;
  if (lengths !== undefined) {
    if (length !== undefined) throw new RangeError(`${FN}: give length or lengths, not both`);
    if (!Array.isArray(lengths)) throw new TypeError(`${FN}: lengths must be an array, got ${String(lengths)}`);
    lengths.forEach((n, b) => {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`${FN}: lengths[${b}] must be an integer >= 0, got ${String(n)}`);
    });
    if (batch !== undefined && batch !== lengths.length) throw new RangeError(`${FN}: batch is ${batch} but lengths has ${lengths.length} entries`);
    return [...lengths];
  }
  if (!Number.isInteger(batch) || batch! < 0) throw new RangeError(`${FN}: batch must be an integer >= 0, got ${String(batch)}`);
  if (!Number.isInteger(length) || length! < 0) throw new RangeError(`${FN}: length must be an integer >= 0 (or give lengths), got ${String(length)}`);
  return new Array<number>(batch!).fill(length!);
}

function resolveRngs(rng: MaskGitDecodeOptions['rng'], rows: number, needed: boolean): (RandomSource | undefined)[] {
  const isSource = (r: unknown): r is RandomSource => typeof (r as RandomSource | undefined)?.float === 'function';
  if (Array.isArray(rng)) {
    if (rng.length !== rows) throw new RangeError(`${FN}: rng has ${rng.length} entries, expected one per row (${rows})`);
    rng.forEach((r, b) => {
      if (!isSource(r)) throw new TypeError(`${FN}: rng[${b}] must have a float() method`);
    });
    return rng;
  }
  if (rng === undefined) {
    if (needed) throw new TypeError(`${FN}: rng is required when temperature > 0 or choiceTemperature > 0`);
  } else if (!isSource(rng)) {
    throw new TypeError(`${FN}: rng must have a float() method (or be one per row)`);
  }
  return new Array<RandomSource | undefined>(rows).fill(rng as RandomSource | undefined);
}

/**
 * The candidate token for one masked position (`row`: its V guided logits) and its
 * log-probability under the guided (untempered) distribution. `[MASK]` and padding are never
 * candidates. Argmax ties go to the lower id. This runs for every masked position of every step
 * over the whole vocabulary, so the argmax path is two plain loops (max, then the normalizer) and
 * bad values are looked for only when the result shows one (a NaN sum or an infinite max).
 */
function predict(row: Float32Array, source: DenoiserLogitsSource, temperature: number, rng: RandomSource | undefined, where: string) {
  const { vocabSize: V, maskId, padId } = source;
  const [saveMask, savePad] = [row[maskId], row[padId]];
  row[maskId] = row[padId] = -Infinity;
  let max = -Infinity;
  let best = -1;
  for (let v = 0; v < V; v++) {
    if (row[v] > max) {
      max = row[v];
      best = v;
    }
  }
  let sum = 0;
  if (max !== Infinity) for (let v = 0; v < V; v++) sum += Math.exp(row[v] - max);
  if (max === Infinity || Number.isNaN(sum) || best < 0) {
    const bad = row.findIndex((x) => Number.isNaN(x) || x === Infinity);
    [row[maskId], row[padId]] = [saveMask, savePad];
    if (bad >= 0) throw new RangeError(`${FN}: logits at ${where}, token ${bad} must be finite or -Infinity, got ${row[bad]}`);
    throw new RangeError(`${FN}: logits at ${where} give no token but [MASK] and padding a finite score`);
  }
  let token = best;
  if (temperature > 0) token = sampleToken(temperature === 1 ? row : row.map((x) => x / temperature), rng!, FN);
  return { token, logProb: row[token] - max - Math.log(sum) };
}

/** What `source.candidatesAt` returned, checked: N tokens the decoder may emit, N finite log-probabilities <= 0. */
function checkCandidates(got: DenoiserCandidates, n: number, source: DenoiserLogitsSource, step: number): DenoiserCandidates {
  const where = `source.candidatesAt (step ${step})`;
  if (!(got?.tokens instanceof Int32Array) || got.tokens.length !== n) throw new RangeError(`${FN}: ${where} must return tokens as an Int32Array of ${n}, got ${String(got?.tokens)}`);
  if (!(got.logProbs instanceof Float32Array) || got.logProbs.length !== n) throw new RangeError(`${FN}: ${where} must return logProbs as a Float32Array of ${n}, got ${String(got.logProbs)}`);
  for (let k = 0; k < n; k++) {
    const [t, lp] = [got.tokens[k], got.logProbs[k]];
    if (t < 0 || t >= source.vocabSize || t === source.maskId || t === source.padId) throw new RangeError(`${FN}: ${where}: candidate ${k} is token ${t}, not one the decoder may emit`);
    if (!(lp <= 0) || lp === -Infinity) throw new RangeError(`${FN}: ${where}: candidate ${k} has log-probability ${lp}, must be finite and <= 0`);
  }
  return got;
}

/**
 * MaskGIT decoding (Chang et al. 2022) with classifier-free guidance. Every row starts with
 * `[MASK]` at each position not fixed. Each of the T steps:
 *  1. guided logits at the masked positions: one model pass over the batch (two when 0 < w ≠ 1,
 *     in one call when the source has `denoiseAt`; see `denoiseWithGuidance`); with temperature 0
 *     a source with `candidatesAt` returns the argmax and its log-probability instead;
 *  2. for each masked position, a candidate token (argmax, or sampled at `temperature`) and its
 *     confidence: log p(candidate) + choiceTemperature · (1 − r) · Gumbel noise, r = (t + 1) / T;
 *  3. per row, the most confident candidates are kept (lower position on ties) so that exactly
 *     `maskedCountAfterStep(schedule, t + 1, T, decodable)` positions stay masked; the others
 *     go back to `[MASK]`. Kept tokens are final, so after step T nothing is masked.
 */
export async function maskGitDecode(source: DenoiserLogitsSource, options: MaskGitDecodeOptions): Promise<MaskGitResult> {
  if (source === null || typeof source !== 'object' || typeof source.denoise !== 'function') {
    throw new TypeError(`${FN}: source must have a denoise() method`);
  }
  if (!Number.isInteger(source.vocabSize) || source.vocabSize < 1) {
    throw new RangeError(`${FN}: source.vocabSize must be an integer >= 1, got ${String(source.vocabSize)}`);
  }
  checkTokenId('source.maskId', source.maskId, source.vocabSize);
  checkTokenId('source.padId', source.padId, source.vocabSize);
  const config = resolveMaskGitConfig(options.config, FN);
  const { steps, schedule, guidanceScale, temperature, choiceTemperature } = config;
  const lengths = resolveLengths(options);
  const B = lengths.length;
  const L = Math.max(0, ...lengths);
  const rngs = resolveRngs(options.rng, B, temperature > 0 || choiceTemperature > 0);

  // 1. Initial rows: fixed tokens, [MASK] where the decoder chooses, padding beyond the length.
  const tokens = new Int32Array(B * L).fill(source.padId);
  const decodable = new Array<number>(B).fill(0);
  if (options.fixed !== undefined && (!Array.isArray(options.fixed) || options.fixed.length !== B)) {
    throw new RangeError(`${FN}: fixed must be an array with one entry per row (${B})`);
  }
  for (let b = 0; b < B; b++) {
    const known = options.fixed?.[b];
    if (known != null && known.length !== lengths[b]) {
      throw new RangeError(`${FN}: fixed[${b}] has ${known.length} tokens, expected the row's length ${lengths[b]}`);
    }
    for (let i = 0; i < lengths[b]; i++) {
      const token = known == null ? source.maskId : known[i];
      checkTokenId(`fixed[${b}][${i}]`, token, source.vocabSize);
      tokens[b * L + i] = token;
      if (token === source.maskId) decodable[b]++;
    }
  }

  const trace: MaskGitStep[] = [];
  const rowsOf = (all: Int32Array) => lengths.map((n, b) => all.slice(b * L, b * L + n));
  if (B === 0) return { tokens: [], config, ...(options.trace ? { trace } : {}) };

  const row = new Float32Array(source.vocabSize); // one position's guided logits, reused
  for (let step = 0; step < steps; step++) {
    const r = (step + 1) / steps;
    const masked = lengths.map((n, b) => {
      const positions: number[] = [];
      for (let i = 0; i < n; i++) if (tokens[b * L + i] === source.maskId) positions.push(i);
      return positions;
    });
    const maskedFraction = Float64Array.from(masked, (m, b) => (decodable[b] === 0 ? 0 : m.length / decodable[b]));
    const positions = Int32Array.from(masked.flatMap((m, b) => m.map((i) => b * L + i)));

    // 2. A candidate and its log-probability per masked position, in `positions` order (the source
    // gets its own copy of the tokens): from the source itself when it can pick argmax candidates,
    // else from each pass's [N, V] logits, combined by guidance one position at a time into `row`.
    const denoiseStep: DenoiserStep = { batch: B, length: L, tokens: tokens.slice(), lengths: Int32Array.from(lengths), step, steps, maskedFraction };
    let predicted: (k: number, b: number, where: () => string) => { token: number; logProb: number };
    if (temperature === 0 && source.candidatesAt !== undefined && positions.length > 0) {
      const picked = checkCandidates(await source.candidatesAt(denoiseStep, positions, guidanceScale), positions.length, source, step);
      predicted = (k) => ({ token: picked.tokens[k], logProb: picked.logProbs[k] });
    } else {
      const { logits } = await denoisePasses(source, denoiseStep, guidanceScale, FN, positions);
      const V = source.vocabSize;
      predicted = (k, b, where) => {
        const [a, u] = logits.map((l) => l.subarray(k * V, (k + 1) * V));
        if (u === undefined) row.set(a);
        else guidedLogits(a, u, guidanceScale, FN, row);
        return predict(row, source, temperature, rngs[b], where());
      };
    }

    // 3. Per row: candidates and confidences, then keep the most confident.
    const maskedAfter: number[] = [];
    const revealed: number[][] = [];
    let cursor = 0; // index into `positions` of row b's first masked position
    for (let b = 0; b < B; b++) {
      const target = maskedCountAfterStep(schedule, step + 1, steps, decodable[b]);
      const first = cursor;
      cursor += masked[b].length;
      const candidates = masked[b].map((position, k) => {
        const { token, logProb } = predicted(first + k, b, () => `row ${b}, position ${position}, step ${step}`);
        const noise = choiceTemperature > 0 && r < 1 ? choiceTemperature * (1 - r) * -Math.log(-Math.log(rngs[b]!.float())) : 0;
        return { position, token, confidence: logProb + noise };
      });
      candidates.sort((x, y) => y.confidence - x.confidence || x.position - y.position);
      const keep = candidates.slice(0, Math.max(0, candidates.length - target));
      for (const { position, token } of keep) tokens[b * L + position] = token;
      maskedAfter.push(candidates.length - keep.length);
      revealed.push(keep.map((c) => c.position));
    }
    if (options.trace) trace.push({ step, maskedAfter, revealed, tokens: rowsOf(tokens) });
  }
  return { tokens: rowsOf(tokens), config, ...(options.trace ? { trace } : {}) };
}
