/**
 * How many tokens of sequences A and B to keep so that together they fit `target`, by the fast
 * tokenizer's `longest_first` rule: cut the longer one first; when both must be cut the shorter
 * keeps floor(target / 2) and the longer the rest (on a tie, B is "the longer").
 */
export function truncateLongestFirst(lengthA: number, lengthB: number, target: number): [number, number] {
  for (const [name, value] of [['lengthA', lengthA], ['lengthB', lengthB], ['target', target]] as const) {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`truncateLongestFirst: ${name} must be an integer >= 0, got ${value}`);
    }
  }
  if (lengthA + lengthB <= target) return [lengthA, lengthB];
  const swap = lengthA > lengthB;
  const short = swap ? lengthB : lengthA;
  let keepShort = short;
  let keepLong = Math.max(short, target - short);
  if (keepShort + keepLong > target) {
    keepShort = Math.floor(target / 2);
    keepLong = keepShort + (target % 2);
  }
  return swap ? [keepLong, keepShort] : [keepShort, keepLong];
}
