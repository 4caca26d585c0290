/** Textbook Levenshtein over a full 2-D array: an independent check for the fast version. */
export function naiveLevenshtein(a: readonly string[], b: readonly string[]): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([]);
    for (let j = 0; j <= b.length; j++) {
      if (i === 0) d[i].push(j);
      else if (j === 0) d[i].push(i);
      else d[i].push(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    }
  }
  return d[a.length][b.length];
}
