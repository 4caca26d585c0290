import type { DenoiserBatch, DenoiserLogitsSource } from './logits-source';

/**
 * Classifier-free guidance: `uncond + w · (cond − uncond)` element-wise, in float64, stored as
 * float32. A `-Infinity` in either pass stays `-Infinity` (a token either pass rules out stays
 * ruled out; the formula would give NaN or +Infinity there). NaN and +Infinity are errors.
 */
export function guidedLogits(cond: ArrayLike<number>, uncond: ArrayLike<number>, guidanceScale: number, fn = 'guidedLogits'): Float32Array {
  if (cond.length !== uncond.length) {
    throw new RangeError(`${fn}: conditional and unconditional logits differ in length (${cond.length} vs ${uncond.length})`);
  }
  if (typeof guidanceScale !== 'number' || !Number.isFinite(guidanceScale)) {
    throw new RangeError(`${fn}: guidanceScale must be finite, got ${String(guidanceScale)}`);
  }
  const out = new Float32Array(cond.length);
  for (let i = 0; i < cond.length; i++) {
    const c = cond[i];
    const u = uncond[i];
    if (Number.isNaN(c) || Number.isNaN(u) || c === Infinity || u === Infinity) {
      throw new RangeError(`${fn}: logits[${i}] must be finite or -Infinity, got conditional ${c}, unconditional ${u}`);
    }
    out[i] = c === -Infinity || u === -Infinity ? -Infinity : u + guidanceScale * (c - u);
  }
  return out;
}

/** Which passes a guidance scale needs: w = 1 is the conditional pass alone, w = 0 the unconditional alone. */
export function guidancePasses(guidanceScale: number): { conditional: boolean; unconditional: boolean } {
  return { conditional: guidanceScale !== 0, unconditional: guidanceScale !== 1 };
}

/**
 * One guided denoising step: calls the source once (w = 0 or 1) or twice (conditional, then
 * unconditional; in turn rather than at once, since a session may not run two calls at a time)
 * and combines the logits. Checks that each call returned `B × L × V` logits.
 */
export async function denoiseWithGuidance(
  source: DenoiserLogitsSource,
  batch: Omit<DenoiserBatch, 'conditional'>,
  guidanceScale: number,
  fn = 'denoiseWithGuidance',
): Promise<Float32Array> {
  const expected = batch.batch * batch.length * source.vocabSize;
  const call = async (conditional: boolean) => {
    const logits = await source.denoise({ ...batch, conditional });
    if (!(logits instanceof Float32Array) || logits.length !== expected) {
      const got = logits instanceof Float32Array ? `length ${logits.length}` : String(logits);
      throw new RangeError(
        `${fn}: source.denoise (conditional: ${conditional}) must return a Float32Array of B × L × V = ${batch.batch} × ${batch.length} × ${source.vocabSize} = ${expected} logits, got ${got}`,
      );
    }
    return logits;
  };
  const passes = guidancePasses(guidanceScale);
  if (!passes.unconditional) return call(true);
  if (!passes.conditional) return call(false);
  const cond = await call(true);
  const uncond = await call(false);
  return guidedLogits(cond, uncond, guidanceScale, fn);
}
