import type { DenoiserLogitsSource, DenoiserStep } from './logits-source';

/**
 * Classifier-free guidance: `uncond + w · (cond − uncond)` element-wise, in float64, stored as
 * float32. A `-Infinity` in either pass stays `-Infinity` (a token either pass rules out stays
 * ruled out; the formula would give NaN or +Infinity there). NaN and +Infinity are errors.
 * `out` (as long as `cond`) receives the result instead of a new array: decoding reuses one row.
 */
export function guidedLogits(cond: ArrayLike<number>, uncond: ArrayLike<number>, guidanceScale: number, fn = 'guidedLogits', out = new Float32Array(cond.length)): Float32Array {
  if (cond.length !== uncond.length) {
    throw new RangeError(`${fn}: conditional and unconditional logits differ in length (${cond.length} vs ${uncond.length})`);
  }
  if (typeof guidanceScale !== 'number' || !Number.isFinite(guidanceScale)) {
    throw new RangeError(`${fn}: guidanceScale must be finite, got ${String(guidanceScale)}`);
  }
  if (out.length !== cond.length) throw new RangeError(`${fn}: out has length ${out.length}, the logits ${cond.length}`);
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

/** `guidancePasses` as the list sources receive (`denoiseAt`'s `passes`): the conditional pass (true) first, then the unconditional (false). */
export function guidancePassList(guidanceScale: number): boolean[] {
  const { conditional, unconditional } = guidancePasses(guidanceScale);
  return [...(conditional ? [true] : []), ...(unconditional ? [false] : [])];
}

/** Rows `positions` of a row-major `[rows, V]` matrix, in that order: `[N, V]`. */
function gatherRows(all: Float32Array, positions: Int32Array, V: number): Float32Array {
  const out = new Float32Array(positions.length * V);
  positions.forEach((p, k) => out.set(all.subarray(p * V, (p + 1) * V), k * V));
  return out;
}

/**
 * The passes one guided denoising step needs (w = 0 or 1: one; otherwise conditional, then
 * unconditional), not yet combined: `{ passes, logits }`, one array per pass. Without `positions`:
 * `[B, L, V]` each, one `source.denoise` call per pass, in turn (a session may not run two calls at
 * a time). With `positions` (flat b · L + i): `[N, V]` each, at those positions only, from one
 * `source.denoiseAt` call when the source has it, else gathered from `denoise`'s. Checks the size
 * of what the source returned.
 */
export async function denoisePasses(
  source: DenoiserLogitsSource,
  batch: DenoiserStep,
  guidanceScale: number,
  fn = 'denoisePasses',
  positions?: Int32Array,
): Promise<{ passes: boolean[]; logits: Float32Array[] }> {
  const V = source.vocabSize;
  const passes = guidancePassList(guidanceScale);
  const check = (logits: unknown, expected: string, size: number, what: string): Float32Array => {
    if (!(logits instanceof Float32Array) || logits.length !== size) {
      const got = logits instanceof Float32Array ? `length ${logits.length}` : String(logits);
      throw new RangeError(`${fn}: ${what} must return a Float32Array of ${expected} = ${size} logits, got ${got}`);
    }
    return logits;
  };
  positions?.forEach((p, k) => {
    if (!(p >= 0 && p < batch.batch * batch.length)) throw new RangeError(`${fn}: positions[${k}] must be in [0, B × L = ${batch.batch * batch.length}), got ${p}`);
  });
  if (positions !== undefined && source.denoiseAt !== undefined) {
    const got: unknown = await source.denoiseAt(batch, positions, passes);
    if (!Array.isArray(got) || got.length !== passes.length) throw new RangeError(`${fn}: source.denoiseAt must return one array per pass (${passes.length}), got ${String(got)}`);
    return { passes, logits: got.map((logits, i) => check(logits, `N × V = ${positions.length} × ${V}`, positions.length * V, `source.denoiseAt (pass ${i}, conditional: ${passes[i]})`)) };
  }
  const logits: Float32Array[] = [];
  for (const c of passes) {
    const size = batch.batch * batch.length * V;
    const all = check(await source.denoise({ ...batch, conditional: c }), `B × L × V = ${batch.batch} × ${batch.length} × ${V}`, size, `source.denoise (conditional: ${c})`);
    logits.push(positions === undefined ? all : gatherRows(all, positions, V));
  }
  return { passes, logits };
}

/**
 * One guided denoising step: `denoisePasses` combined by `guidedLogits`. `[B, L, V]` logits, or
 * `[N, V]` at `positions`.
 */
export async function denoiseWithGuidance(
  source: DenoiserLogitsSource,
  batch: DenoiserStep,
  guidanceScale: number,
  fn = 'denoiseWithGuidance',
  positions?: Int32Array,
): Promise<Float32Array> {
  const { logits } = await denoisePasses(source, batch, guidanceScale, fn, positions);
  return logits.length === 1 ? logits[0] : guidedLogits(logits[0], logits[1], guidanceScale, fn);
}
