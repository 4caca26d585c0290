/**
 * Python's `round(x, digits)` for finite x: the exact binary value rounded half to even.
 * `Math.round(x * 1e4) / 1e4` and `toFixed` differ from it on exact ties such as 0.03125 = 1/32
 * (Python gives 0.0312), and ChERRANT compares rounded F-scores when it picks a reference.
 */
export function pythonRound(x: number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const sign = x < 0 ? -1 : 1;
  // toFixed(100) is the exact decimal expansion for every |x| >= 2^-47 (at most 100 digits).
  const [whole, frac] = Math.abs(x).toFixed(100).split('.');
  const kept = frac.slice(0, digits);
  const rest = frac.slice(digits);
  const half = '5'.padEnd(rest.length, '0');
  let up = rest > half;
  if (rest === half) up = Number((whole + kept).at(-1)) % 2 === 1;
  let scaled = BigInt(whole + kept);
  if (up) scaled += 1n;
  // Number("d.dddd") is the double nearest the decimal result, which is what Python returns.
  const text = scaled.toString().padStart(digits + 1, '0');
  const value = Number(digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`);
  return sign * value;
}
