import type { Dim, Ops } from '../ops/ops';

/** Where the rotary angles are taken from, and their base. */
export interface RopeOptions<T> {
  /** Rows of the cos/sin tables: every position must be < maxPositions. */
  maxPositions: number;
  /** Base of the inverse frequencies, theta^(-2i/d) (Llama: 10000). */
  theta?: number;
  /** Position of the first token: the cached length when decoding with a KV cache. Default 0. */
  offset?: number;
  /**
   * Per-token positions, int32 [L] or [B, L]; when given, `offset` is ignored. In a recorded graph
   * this keeps the positions a runtime input (a KV-cache decoder feeds past length + i).
   */
  positions?: T;
}

/** cos and sin of the rotary angles, broadcastable to [B, heads, L, headDim]. */
export interface RopeAngles<T> {
  cos: T;
  sin: T;
}

export const DEFAULT_ROPE_THETA = 10000;

const tableCache = new Map<string, { cos: Float32Array; sin: Float32Array }>();

/**
 * Host-side tables [maxPositions, headDim] in Hugging Face Llama's layout: angle(p, j) =
 * p * theta^(-2(j mod d/2)/d), i.e. the frequencies concatenated twice (cat(freqs, freqs)), which
 * pairs channel j with channel j + d/2 (rotate-half). Computed once per (d, maxPositions, theta).
 */
export function ropeTables(headDim: number, maxPositions: number, theta = DEFAULT_ROPE_THETA): { cos: Float32Array; sin: Float32Array } {
  if (!Number.isInteger(headDim) || headDim <= 0 || headDim % 2 !== 0) throw new RangeError(`ropeTables: headDim must be a positive even integer, got ${headDim}`);
  if (!Number.isInteger(maxPositions) || maxPositions <= 0) throw new RangeError(`ropeTables: maxPositions must be a positive integer, got ${maxPositions}`);
  if (!(theta > 0)) throw new RangeError(`ropeTables: theta must be > 0, got ${theta}`);
  const key = `${headDim}:${maxPositions}:${theta}`;
  const cached = tableCache.get(key);
  if (cached) return cached;
  const half = headDim / 2;
  const cos = new Float32Array(maxPositions * headDim);
  const sin = new Float32Array(maxPositions * headDim);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < half; i++) {
      // Float64 here; Llama computes in float32, which differs by < 1e-6 * p (far below 1e-4 for p < 64).
      const angle = p * Math.pow(theta, (-2 * i) / headDim);
      const [c, s] = [Math.cos(angle), Math.sin(angle)];
      cos[p * headDim + i] = cos[p * headDim + i + half] = c;
      sin[p * headDim + i] = sin[p * headDim + i + half] = s;
    }
  }
  const tables = { cos, sin };
  tableCache.set(key, tables);
  return tables;
}

/**
 * The angles for a sequence of `length` tokens: [1, 1, L, d] (from `offset`) or, with `positions`
 * [B, L], [B, 1, L, d]. Compute once per forward and pass to every layer (`applyRope`, or the
 * `rope` option of `multiHeadAttention`), so a recorded graph holds one copy of the tables.
 */
export function ropeAngles<T>(ops: Ops<T>, length: Dim, headDim: number, options: RopeOptions<T>): RopeAngles<T> {
  const { maxPositions, theta = DEFAULT_ROPE_THETA, offset = 0, positions } = options;
  const tables = ropeTables(headDim, maxPositions, theta);
  const cosTable = ops.constant(tables.cos, [maxPositions, headDim]);
  const sinTable = ops.constant(tables.sin, [maxPositions, headDim]);
  if (positions !== undefined) {
    const shape = ops.shape(positions);
    if (ops.dtype(positions) !== 'int32') throw new TypeError(`ropeAngles: positions must be int32, got ${ops.dtype(positions)}`);
    const target = shape.length === 1 ? [1, 1, shape[0], headDim] : [shape[0], 1, shape[1], headDim];
    return { cos: ops.reshape(ops.gather(cosTable, positions), target), sin: ops.reshape(ops.gather(sinTable, positions), target) };
  }
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`ropeAngles: offset must be an integer >= 0, got ${offset}`);
  if (typeof length === 'number' && offset + length > maxPositions) {
    throw new RangeError(`ropeAngles: positions ${offset}..${offset + length - 1} exceed maxPositions ${maxPositions}`);
  }
  const rows = (t: T) => ops.reshape(ops.slice(t, [offset, 0], [length, headDim]), [1, 1, length, headDim]);
  return { cos: rows(cosTable), sin: rows(sinTable) };
}

/** rotate_half(x) = concat(-x2, x1) over the last axis, x1 and x2 its two halves. */
function rotateHalf<T>(ops: Ops<T>, x: T, headDim: number): T {
  const rank = ops.shape(x).length;
  const half = headDim / 2;
  const zeros = new Array<number>(rank - 1).fill(0);
  const all = new Array<number>(rank - 1).fill(-1);
  const x1 = ops.slice(x, [...zeros, 0], [...all, half]);
  const x2 = ops.slice(x, [...zeros, half], [...all, half]);
  return ops.concat([ops.neg(x2), x1], -1);
}

/**
 * Rotary position embedding of queries or keys x [B, heads, L, d], as Hugging Face Llama's
 * `apply_rotary_pos_emb`: x * cos + rotate_half(x) * sin.
 */
export function applyRope<T>(ops: Ops<T>, x: T, angles: RopeAngles<T>): T {
  const shape = ops.shape(x);
  const headDim = shape[shape.length - 1];
  if (typeof headDim !== 'number' || headDim % 2 !== 0) throw new RangeError(`applyRope: the last dim must be a known even size, got ${headDim}`);
  return ops.add(ops.mul(x, angles.cos), ops.mul(rotateHalf(ops, x, headDim), angles.sin));
}
