const cache = new Map<string, Float32Array>();

/**
 * Sinusoidal timestep embeddings, computed on the host (the `Ops` interface has no sin / cos):
 * row t is [sin(t·f_0), ..., sin(t·f_{h-1}), cos(t·f_0), ..., cos(t·f_{h-1})] with
 * f_i = 10000^(−i / h), h = dim / 2 (the transformer / DDPM embedding). The decoder gathers its
 * rows by timestep from a constant [T + 1, dim] table, so a recorded graph takes int timesteps.
 * Computed once per (T, dim) and shared: callers must not write into it.
 */
export function sinusoidalTimestepTable(numTimesteps: number, dim: number): Float32Array {
  if (!Number.isInteger(numTimesteps) || numTimesteps < 1) throw new RangeError(`sinusoidalTimestepTable: numTimesteps must be an integer >= 1, got ${numTimesteps}`);
  if (!Number.isInteger(dim) || dim < 2 || dim % 2 !== 0) throw new RangeError(`sinusoidalTimestepTable: dim must be an even integer >= 2, got ${dim}`);
  const key = `${numTimesteps}:${dim}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const half = dim / 2;
  const table = new Float32Array((numTimesteps + 1) * dim);
  for (let t = 0; t <= numTimesteps; t++) {
    for (let i = 0; i < half; i++) {
      const angle = t * Math.pow(10000, -i / half);
      table[t * dim + i] = Math.sin(angle);
      table[t * dim + half + i] = Math.cos(angle);
    }
  }
  cache.set(key, table);
  return table;
}
