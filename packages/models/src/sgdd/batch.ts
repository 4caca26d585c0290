import type { Rng } from '@proj/core';
import type { SgddConfig } from './config';
import { maskTokens, sampleConditions, sampleTimesteps, type ForwardProcessOptions } from './forward-process';
import type { SgddHostBatch } from './model';

/** The forward process of a decoder config: its [MASK] and [PAD] ids, T, and [CLS] / [SEP] never masked. */
export function forwardProcessOptions(config: SgddConfig): ForwardProcessOptions {
  return { numTimesteps: config.num_timesteps, maskId: config.mask_token_id, padId: config.pad_token_id, keepIds: [config.cls_token_id, config.sep_token_id] };
}

/** Row vectors of `size` floats each, end to end: [B · size], the decoder's `semantic` input; `fn` names the caller in the error. */
export function packVectors(vectors: readonly ArrayLike<number>[], size: number, fn: string): Float32Array {
  const out = new Float32Array(vectors.length * size);
  vectors.forEach((v, b) => {
    if (v.length !== size) throw new RangeError(`${fn}: vectors[${b}] has ${v.length} values, semantic_size is ${size}`);
    out.set(v, b * size);
  });
  return out;
}

/**
 * One training batch on the host, drawn from `rng` in a fixed order: a timestep per row
 * (uniform in 1..T), the forward process (mask with probability 1 − alpha_bar(t)), then the
 * classifier-free-guidance draw (null vector with probability uncond_prob).
 * `vectors[b]` is row b's frozen-encoder vector (semantic_size floats).
 */
export function makeSgddBatch(rows: readonly ArrayLike<number>[], vectors: readonly ArrayLike<number>[], config: SgddConfig, rng: Rng): SgddHostBatch {
  if (vectors.length !== rows.length) throw new RangeError(`makeSgddBatch: ${rows.length} rows but ${vectors.length} vectors`);
  const semantic = packVectors(vectors, config.semantic_size, 'makeSgddBatch');
  rows.forEach((r, b) => {
    if (r.length > config.max_length) throw new RangeError(`makeSgddBatch: rows[${b}] has ${r.length} tokens, max_length is ${config.max_length}`);
  });
  const timesteps = sampleTimesteps(rows.length, config.num_timesteps, rng);
  const noised = maskTokens(rows, timesteps, rng, forwardProcessOptions(config));
  const condition = sampleConditions(rows.length, config.uncond_prob, rng);
  const length = Math.max(0, ...rows.map((r) => r.length));
  return { batch: rows.length, length, ...noised, timesteps, semantic, condition };
}
