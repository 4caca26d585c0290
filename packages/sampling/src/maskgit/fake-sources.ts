/**
 * Deterministic denoisers for tests (not exported from the package). Logits are
 * log-probabilities, so the confidence decoding sees is the table's probability (renormalised
 * after [MASK] and padding are ruled out, which keeps the order).
 */
import type { DenoiserBatch, DenoiserLogitsSource } from './logits-source';

export const MASK = 1;
export const PAD = 0;

/** A copy of what the source was given, for assertions. */
export type RecordedCall = Omit<DenoiserBatch, 'tokens'> & { tokens: Int32Array };

/**
 * Favours `targets[b][i]` at row b, position i with probability `confidence(i, b)`; the rest of
 * the vocabulary shares what is left. Ignores the context and the condition.
 */
export function targetSource(targets: readonly (readonly number[])[], vocabSize: number, confidence: (position: number, row: number) => number = () => 0.9) {
  const calls: RecordedCall[] = [];
  const source: DenoiserLogitsSource = {
    vocabSize,
    maskId: MASK,
    padId: PAD,
    async denoise(batch) {
      calls.push({ ...batch, tokens: batch.tokens.slice() });
      const out = new Float32Array(batch.batch * batch.length * vocabSize);
      for (let b = 0; b < batch.batch; b++) {
        for (let i = 0; i < batch.length; i++) {
          const p = confidence(i, b);
          const offset = (b * batch.length + i) * vocabSize;
          out.fill(Math.log((1 - p) / (vocabSize - 1)), offset, offset + vocabSize);
          if (i < targets[b].length) out[offset + targets[b][i]] = Math.log(p);
        }
      }
      return out;
    },
  };
  return { source, calls };
}

/** Every position gets `cond` (conditional pass) or `uncond` (null condition) as its logit row. */
export function twoPassSource(cond: readonly number[], uncond: readonly number[]) {
  const calls: RecordedCall[] = [];
  const source: DenoiserLogitsSource = {
    vocabSize: cond.length,
    maskId: MASK,
    padId: PAD,
    async denoise(batch) {
      calls.push({ ...batch, tokens: batch.tokens.slice() });
      const row = batch.conditional ? cond : uncond;
      return Float32Array.from({ length: batch.batch * batch.length * row.length }, (_, k) => row[k % row.length]);
    },
  };
  return { source, calls };
}

/**
 * `source` with the `denoiseAt` fast path: one call per step returns every pass, at the asked
 * positions only (computed from `denoise` here); `atCalls` records what each call asked for.
 */
export function withDenoiseAt(source: DenoiserLogitsSource) {
  const atCalls: { positions: number[]; passes: boolean[] }[] = [];
  const fast: DenoiserLogitsSource = {
    vocabSize: source.vocabSize,
    maskId: source.maskId,
    padId: source.padId,
    denoise: () => Promise.reject(new Error('withDenoiseAt: denoise must not be called when denoiseAt is there')),
    async denoiseAt(step, positions, passes) {
      atCalls.push({ positions: [...positions], passes: [...passes] });
      const V = source.vocabSize;
      const outs: Float32Array[] = [];
      for (const conditional of passes) {
        const all = await source.denoise({ ...step, conditional });
        outs.push(Float32Array.from({ length: positions.length * V }, (_, k) => all[positions[Math.floor(k / V)] * V + (k % V)]));
      }
      return outs;
    },
  };
  return { source: fast, atCalls };
}

/**
 * `source` with the `candidatesAt` fast path (and `denoiseAt`, which must not be used for argmax
 * then): the guided argmax over all but [MASK] and padding and its log-probability, worked out
 * here from `denoise` in float64 as a graph would; `calls` records each call's scale.
 */
export function withCandidatesAt(source: DenoiserLogitsSource) {
  const calls: { positions: number[]; guidanceScale: number }[] = [];
  const { source: at } = withDenoiseAt(source);
  const fast: DenoiserLogitsSource = {
    ...at,
    async candidatesAt(step, positions, guidanceScale) {
      calls.push({ positions: [...positions], guidanceScale });
      const V = source.vocabSize;
      const [cond, uncond] = await Promise.all([source.denoise({ ...step, conditional: true }), source.denoise({ ...step, conditional: false })]);
      const tokens = new Int32Array(positions.length);
      const logProbs = new Float32Array(positions.length);
      positions.forEach((p, k) => {
        const guided = Array.from({ length: V }, (_, v) => (v === source.maskId || v === source.padId ? -Infinity : uncond[p * V + v] + guidanceScale * (cond[p * V + v] - uncond[p * V + v])));
        const best = guided.indexOf(Math.max(...guided));
        tokens[k] = best;
        logProbs[k] = -Math.log(guided.reduce((s, x) => s + Math.exp(x - guided[best]), 0));
      });
      return { tokens, logProbs };
    },
  };
  return { source: fast, calls };
}
