/**
 * Fraction of predictions that equal their reference string exactly (no normalisation).
 * Empty input gives 0 rather than NaN, like every ratio in this package.
 */
export function exactMatch(preds: readonly string[], refs: readonly string[]): number {
  if (preds.length !== refs.length) {
    throw new RangeError(`exactMatch: preds has ${preds.length} entries but refs has ${refs.length}`);
  }
  if (preds.length === 0) return 0;
  let hits = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === refs[i]) hits++;
  return hits / preds.length;
}
