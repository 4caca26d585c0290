import type { AlignStep } from './types';

/**
 * Most DP cells `alignTokens` will fill for the part of a pair between the common prefix and
 * suffix. The backtrace matrix takes 2 bits a cell, so this caps it at 256 MiB (about 32k × 32k
 * differing tokens); beyond that the caller should split the text first.
 */
export const MAX_ALIGN_CELLS = 2 ** 30;

// Backtrace moves, 2 bits per cell. DIAG is 0 so a fresh (zeroed) matrix means "diagonal".
const DIAG = 0;
const UP = 1; // delete source token
const LEFT = 2; // insert target token

function checkTokens(fn: string, name: string, tokens: unknown): void {
  if (!Array.isArray(tokens)) throw new TypeError(`${fn}: ${name} must be an array of tokens, got ${typeof tokens}`);
}

/** Length of the common prefix, then of the common suffix of what remains. */
function commonEnds(a: readonly string[], b: readonly string[]): [number, number] {
  const n = a.length;
  const m = b.length;
  let pre = 0;
  while (pre < n && pre < m && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < n - pre && suf < m - pre && a[n - 1 - suf] === b[m - 1 - suf]) suf++;
  return [pre, suf];
}

/** Maps the tokens of both middles to small integers, so the inner loop compares numbers. */
function intern(a: readonly string[], aFrom: number, aTo: number, b: readonly string[], bFrom: number, bTo: number): [Int32Array, Int32Array] {
  const ids = new Map<string, number>();
  const idOf = (token: string): number => {
    let id = ids.get(token);
    if (id === undefined) {
      id = ids.size;
      ids.set(token, id);
    }
    return id;
  };
  const x = new Int32Array(aTo - aFrom);
  for (let i = aFrom; i < aTo; i++) x[i - aFrom] = idOf(a[i]);
  const y = new Int32Array(bTo - bFrom);
  for (let j = bFrom; j < bTo; j++) y[j - bFrom] = idOf(b[j]);
  return [x, y];
}

/**
 * Edit distance (unit-cost insert, delete, replace) between two token sequences.
 * O(n·m) time, O(min) memory: two rows, after stripping the common prefix and suffix.
 */
export function levenshtein(a: readonly string[], b: readonly string[]): number {
  checkTokens('levenshtein', 'a', a);
  checkTokens('levenshtein', 'b', b);
  const [pre, suf] = commonEnds(a, b);
  let [x, y] = intern(a, pre, a.length - suf, b, pre, b.length - suf);
  if (y.length > x.length) [x, y] = [y, x]; // the row is the shorter side
  const cols = y.length;
  if (cols === 0) return x.length;
  let prev = new Int32Array(cols + 1);
  let cur = new Int32Array(cols + 1);
  for (let j = 0; j <= cols; j++) prev[j] = j;
  for (let i = 1; i <= x.length; i++) {
    cur[0] = i;
    const xi = x[i - 1];
    for (let j = 1; j <= cols; j++) {
      const diag = prev[j - 1] + (xi === y[j - 1] ? 0 : 1);
      const up = prev[j] + 1;
      const left = cur[j - 1] + 1;
      cur[j] = diag < up ? (diag < left ? diag : left) : up < left ? up : left;
    }
    [prev, cur] = [cur, prev];
  }
  return prev[cols];
}

/**
 * A minimal-edit alignment of `source` to `target`: steps in order that cover every source and
 * every target token once. Keep steps pair equal tokens; the number of non-keep steps is
 * `levenshtein(source, target)`.
 *
 * Tie-breaking (deterministic; all choices below have the same minimal cost):
 * 1. The common prefix, then the common suffix of the rest, are KEEPs. So a duplicated token
 *    loses its second copy (我我朋友 → 我朋友 deletes source 1) and a run of equal tokens
 *    receives an insertion at its end.
 * 2. The middle is a Levenshtein DP with a backtrace from the end. At each cell the diagonal is
 *    taken whenever it is optimal (KEEP if the tokens match, else REPLACE), so REPLACE wins over
 *    a DELETE+INSERT pair of the same cost (ab → ba is two REPLACEs). Otherwise DELETE (up)
 *    beats INSERT (left). A minimal alignment never has a DELETE next to an INSERT (one REPLACE
 *    would be cheaper), so this order decides where they go when they can trade places:
 *    walking back from the end, deletes are taken first, which places DELETEs as late and
 *    INSERTs as early as possible (aba → bab is insert b, keep a, keep b, delete a), and in a
 *    mixed run INSERTs come before REPLACEs (abc → aXYc is keep a, insert X, replace b→Y,
 *    keep c).
 *
 * O(n·m) time on the differing middle; the backtrace matrix is 2 bits a cell (see
 * MAX_ALIGN_CELLS), the cost rows are two Int32Arrays.
 */
export function alignTokens(source: readonly string[], target: readonly string[]): AlignStep[] {
  checkTokens('alignTokens', 'source', source);
  checkTokens('alignTokens', 'target', target);
  const n = source.length;
  const m = target.length;
  const [pre, suf] = commonEnds(source, target);
  const steps: AlignStep[] = [];
  for (let k = 0; k < pre; k++) steps.push({ op: 'keep', source: k, target: k });
  alignMiddle(source, pre, n - suf, target, pre, m - suf, steps);
  for (let k = suf; k > 0; k--) steps.push({ op: 'keep', source: n - k, target: m - k });
  return steps;
}

function alignMiddle(
  source: readonly string[],
  s0: number,
  s1: number,
  target: readonly string[],
  t0: number,
  t1: number,
  steps: AlignStep[],
): void {
  const rows = s1 - s0;
  const cols = t1 - t0;
  if (rows === 0 || cols === 0) {
    for (let i = s0; i < s1; i++) steps.push({ op: 'delete', source: i });
    for (let j = t0; j < t1; j++) steps.push({ op: 'insert', target: j });
    return;
  }
  const width = cols + 1;
  const cells = (rows + 1) * width;
  if (cells > MAX_ALIGN_CELLS) {
    throw new RangeError(
      `alignTokens: ${rows} × ${cols} differing tokens need ${cells} DP cells, more than MAX_ALIGN_CELLS=${MAX_ALIGN_CELLS}; split the text first`,
    );
  }
  const [x, y] = intern(source, s0, s1, target, t0, t1);
  const moves = new Uint8Array((cells + 3) >>> 2);
  const setMove = (cell: number, move: number) => {
    moves[cell >>> 2] |= move << ((cell & 3) << 1);
  };
  let prev = new Int32Array(width);
  let cur = new Int32Array(width);
  for (let j = 1; j <= cols; j++) {
    prev[j] = j;
    setMove(j, LEFT);
  }
  for (let i = 1; i <= rows; i++) {
    const rowStart = i * width;
    cur[0] = i;
    setMove(rowStart, UP);
    const xi = x[i - 1];
    for (let j = 1; j <= cols; j++) {
      const diag = prev[j - 1] + (xi === y[j - 1] ? 0 : 1);
      const up = prev[j] + 1;
      const left = cur[j - 1] + 1;
      if (diag <= up && diag <= left) {
        cur[j] = diag; // DIAG is 0: nothing to store
      } else if (up <= left) {
        cur[j] = up;
        setMove(rowStart + j, UP);
      } else {
        cur[j] = left;
        setMove(rowStart + j, LEFT);
      }
    }
    [prev, cur] = [cur, prev];
  }

  // Backtrace from the bottom-right corner, then reverse into forward order.
  const reversed: AlignStep[] = [];
  let i = rows;
  let j = cols;
  while (i > 0 || j > 0) {
    const cell = i * width + j;
    const move = (moves[cell >>> 2] >>> ((cell & 3) << 1)) & 3;
    if (move === DIAG) {
      i--;
      j--;
      reversed.push({ op: x[i] === y[j] ? 'keep' : 'replace', source: s0 + i, target: t0 + j });
    } else if (move === UP) {
      i--;
      reversed.push({ op: 'delete', source: s0 + i });
    } else {
      j--;
      reversed.push({ op: 'insert', target: t0 + j });
    }
  }
  for (let k = reversed.length - 1; k >= 0; k--) steps.push(reversed[k]);
}
