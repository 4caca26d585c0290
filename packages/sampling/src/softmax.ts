/**
 * Row-wise softmax of a row-major `rows × cols` matrix, in float64 (probabilities are compared
 * with thresholds, so float32 rounding would move decisions at the boundary). `-Infinity` logits
 * are allowed (a masked-out entry gets probability 0); NaN, `+Infinity` and all-`-Infinity` rows
 * are errors, because no probability can be read from them. `fn` and `what` name the caller and
 * the array in errors.
 */
export function softmaxRows(logits: ArrayLike<number>, cols: number, fn = 'softmaxRows', what = 'logits'): Float64Array {
  if (!Number.isInteger(cols) || cols < 1) throw new RangeError(`${fn}: cols must be an integer >= 1, got ${cols}`);
  if (logits.length % cols !== 0) {
    throw new RangeError(`${fn}: ${what} has length ${logits.length}, not a multiple of ${cols} columns`);
  }
  const out = new Float64Array(logits.length);
  for (let start = 0; start < logits.length; start += cols) {
    let max = -Infinity;
    for (let j = 0; j < cols; j++) {
      const x = logits[start + j];
      if (Number.isNaN(x) || x === Infinity) {
        throw new RangeError(`${fn}: ${what}[${start + j}] (row ${start / cols}, column ${j}) must be finite or -Infinity, got ${x}`);
      }
      if (x > max) max = x;
    }
    if (max === -Infinity) throw new RangeError(`${fn}: ${what} row ${start / cols} is all -Infinity`);
    // Subtracting the row max keeps exp() from overflowing.
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += out[start + j] = Math.exp(logits[start + j] - max);
    for (let j = 0; j < cols; j++) out[start + j] /= sum;
  }
  return out;
}
