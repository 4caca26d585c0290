import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { softmaxRows } from '../softmax';
import { applyTopKFullSort, applyTopPFullSort } from './full-sort-filters';
import { applyTopK, applyTopP } from './logits-processors';

/**
 * Seeded random rows of the shapes sampling meets: smooth and peaked logits, many ties (few
 * distinct values), -Infinity already set (after top-k or a ban), spans wider than 64 nats, and
 * vocabularies from 1 to 6,400.
 */
function randomRow(rng: Rng, trial: number): Float32Array {
  const V = [1, 2, 3, 7, 50, 500, 6400][trial % 7];
  const kind = Math.floor(trial / 7) % 5;
  const row = new Float32Array(V);
  for (let i = 0; i < V; i++) {
    if (kind === 0) row[i] = (rng.float() - 0.5) * 4; // flat
    else if (kind === 1) row[i] = rng.float() * 30; // peaked
    else if (kind === 2) row[i] = rng.int(4) * 0.5; // ties everywhere
    else if (kind === 3) row[i] = rng.float() < 0.7 ? -Infinity : rng.int(20) * 0.25; // few survivors, ties
    else row[i] = (rng.float() - 0.5) * 400; // wider than the buckets
  }
  if (row.every((x) => x === -Infinity)) row[rng.int(V)] = 0;
  return row;
}

/** p values at and around the mass of each head of the ranking, where a cut could go either way. */
function boundaryPs(row: Float32Array, rng: Rng): number[] {
  const probs = softmaxRows(row, row.length);
  const byId = Array.from(probs.keys()).sort((a, b) => row[b] - row[a] || a - b);
  const ps = [1, 1e-12, Number.MIN_VALUE, 0.5, 0.9, 0.95, 0.999999, 1 - 2 ** -52, rng.float() || 0.5];
  let mass = 0;
  for (const id of byId.slice(0, 8)) {
    mass += probs[id];
    if (mass > 0 && mass <= 1) ps.push(mass, Math.min(1, mass * (1 + 2 ** -52)), mass * (1 - 2 ** -52));
  }
  // The whole mass summed in id order, which rounds differently from the ranking's order.
  ps.push(Math.min(1, probs.reduce((a, b) => a + b, 0)));
  return ps.filter((p) => p > 0 && p <= 1);
}

/** Where two rows first differ (`Object.is`), -1 if nowhere: one number to compare instead of a 6,400-entry diff. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe('applyTopP and applyTopK rank only the head of the row: the same rows as a full sort', () => {
  it('applyTopP keeps exactly the tokens the full ranking keeps, for every p (1, tiny, at each cut and a rounding step from it)', () => {
    const rng = new Rng(2024);
    let cases = 0;
    for (let trial = 0; trial < 140; trial++) {
      const row = randomRow(rng, trial);
      for (const p of boundaryPs(row, rng)) {
        expect(firstDifference(applyTopP(row.slice(), p), applyTopPFullSort(row.slice(), p)), `trial ${trial}, p ${p}`).toBe(-1);
        cases++;
      }
    }
    expect(cases).toBeGreaterThan(2000);
  });

  it('applyTopK keeps exactly the tokens the full ranking keeps, for every k', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 140; trial++) {
      const row = randomRow(rng, trial);
      for (const k of [0, 1, 2, 5, 50, row.length - 1, row.length, row.length + 3, rng.int(row.length + 1)]) {
        expect(firstDifference(applyTopK(row.slice(), k), applyTopKFullSort(row.slice(), k)), `trial ${trial}, k ${k}`).toBe(-1);
      }
    }
  });

  it('top-k then top-p, as processLogits runs them, equals the full sorts in that order', () => {
    const rng = new Rng(99);
    for (let trial = 0; trial < 70; trial++) {
      const row = randomRow(rng, trial);
      const k = 1 + rng.int(Math.min(row.length, 60));
      const p = rng.float() || 0.5;
      expect(firstDifference(applyTopP(applyTopK(row.slice(), k), p), applyTopPFullSort(applyTopKFullSort(row.slice(), k), p)), `trial ${trial}`).toBe(-1);
    }
  });
});
