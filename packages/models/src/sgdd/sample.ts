import { maskGitDecode, type DenoiserLogitsSource, type MaskGitResult, type RandomSource } from '@proj/sampling';
import type { SgddConfig } from './config';

/**
 * Guidance in SGDD's convention (the design's): `logits = cond + w · (cond − uncond)`, w = 0 is
 * plain conditional decoding. @proj/sampling's `maskGitDecode` takes `uncond + s · (cond − uncond)`,
 * where s = 1 is plain conditional; the two agree when s = 1 + w. This is the one place the SGDD
 * surface (library options, the CLI's --guidance) is mapped to maskGitDecode's scale.
 */
export function sgddGuidanceToMaskGitScale(w: number): number {
  if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) throw new RangeError(`sgddGuidanceToMaskGitScale: guidance must be a finite number >= 0, got ${String(w)}`);
  return 1 + w;
}

/** SGDD sampling settings, defaults written once. */
export interface SgddSampleOptions {
  /** MaskGIT steps (the design: 16). */
  steps?: number;
  /** Guidance w in `cond + w · (cond − uncond)`; 0 = plain conditional, 2 = the design's default. */
  guidance?: number;
  /** Candidate sampling temperature; 0 = argmax. */
  temperature?: number;
  /** MaskGIT's confidence noise (Gumbel scale, annealed to 0); 0 = pure confidence order. */
  choiceTemperature?: number;
  /** Needed when either temperature is > 0: one per row keeps each row independent of the batch. */
  rng?: RandomSource | readonly RandomSource[];
}

export const DEFAULT_SGDD_SAMPLE = Object.freeze({
  steps: 16, // the design's MaskGIT steps
  guidance: 2, // the design's w
  temperature: 0, // argmax candidates: reconstruction wants the most likely sentence
  choiceTemperature: 0, // confidence order without noise, so a seed-free run is deterministic
});

/**
 * Samples one sentence per row of `source` (an `SgddDenoiser` / `OnnxSgddDenoiser` bound to the
 * rows' vectors): row b has `lengths[b]` tokens, `[CLS]` and `[SEP]` fixed at its ends (as in
 * training, where the forward process never masks them) and every position between chosen by
 * MaskGIT with guidance in SGDD's convention. Returns the ids with `[CLS]` and `[SEP]`.
 */
export async function sampleSgdd(
  source: DenoiserLogitsSource & { readonly config: SgddConfig },
  lengths: readonly number[],
  options: SgddSampleOptions = {},
): Promise<MaskGitResult> {
  const o = { ...DEFAULT_SGDD_SAMPLE, ...options };
  const c = source.config;
  const fixed = lengths.map((n, b) => {
    if (!Number.isInteger(n) || n < 2 || n > c.max_length) throw new RangeError(`sampleSgdd: lengths[${b}] must be an integer in [2, ${c.max_length}] ([CLS] and [SEP] included), got ${n}`);
    const row = new Int32Array(n).fill(c.mask_token_id);
    [row[0], row[n - 1]] = [c.cls_token_id, c.sep_token_id];
    return row;
  });
  return maskGitDecode(source, {
    lengths,
    fixed,
    rng: o.rng,
    config: { steps: o.steps, guidanceScale: sgddGuidanceToMaskGitScale(o.guidance), temperature: o.temperature, choiceTemperature: o.choiceTemperature },
  });
}
