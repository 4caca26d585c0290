import type { Rng } from '@proj/core';
import type { SgddConfig } from './config';
import { maskTokens, sampleConditions, sampleTimesteps } from './forward-process';
import type { SgddHostBatch } from './model';

/**
 * One training batch on the host, drawn from `rng` in a fixed order: a timestep per row
 * (uniform in 1..T), the forward process (mask with probability 1 − alpha_bar(t)), then the
 * classifier-free-guidance draw (null vector with probability uncond_prob).
 * `vectors[b]` is row b's frozen-encoder vector (semantic_size floats).
 */
export function makeSgddBatch(rows: readonly ArrayLike<number>[], vectors: readonly ArrayLike<number>[], config: SgddConfig, rng: Rng): SgddHostBatch {
  const E = config.semantic_size;
  if (vectors.length !== rows.length) throw new RangeError(`makeSgddBatch: ${rows.length} rows but ${vectors.length} vectors`);
  const semantic = new Float32Array(rows.length * E);
  vectors.forEach((v, b) => {
    if (v.length !== E) throw new RangeError(`makeSgddBatch: vectors[${b}] has ${v.length} values, semantic_size is ${E}`);
    semantic.set(v, b * E);
  });
  rows.forEach((r, b) => {
    if (r.length > config.max_length) throw new RangeError(`makeSgddBatch: rows[${b}] has ${r.length} tokens, max_length is ${config.max_length}`);
  });
  const timesteps = sampleTimesteps(rows.length, config.num_timesteps, rng);
  const noised = maskTokens(rows, timesteps, rng, {
    numTimesteps: config.num_timesteps,
    maskId: config.mask_token_id,
    padId: config.pad_token_id,
    keepIds: [config.cls_token_id, config.sep_token_id],
  });
  const condition = sampleConditions(rows.length, config.uncond_prob, rng);
  const length = Math.max(0, ...rows.map((r) => r.length));
  return { batch: rows.length, length, ...noised, timesteps, semantic, condition };
}
