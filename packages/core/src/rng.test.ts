import { describe, expect, it } from 'vitest';
import { Rng } from './rng';

describe('Rng', () => {
  it('gives the same stream for the same seed and different streams for different seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 100 }, () => a.nextUint32());
    expect(Array.from({ length: 100 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it('derive() depends on every key and on their order', () => {
    const first = (r: Rng) => r.nextUint32();
    expect(first(Rng.derive(1, 2, 3))).toBe(first(Rng.derive(1, 2, 3)));
    expect(first(Rng.derive(1, 2, 3))).not.toBe(first(Rng.derive(1, 3, 2)));
    expect(first(Rng.derive(1, 2, 3))).not.toBe(first(Rng.derive(1, 2, 4)));
    expect(first(Rng.derive(1, 2 ** 40))).not.toBe(first(Rng.derive(1, 2 ** 41)));
  });

  it('resumes from a saved state', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 10; i++) rng.float();
    const resumed = new Rng(rng.state());
    expect(Array.from({ length: 20 }, () => resumed.float())).toEqual(Array.from({ length: 20 }, () => rng.float()));
  });

  it('float() is in [0,1) with mean near 1/2, int(n) is uniform', () => {
    const rng = new Rng(1);
    const counts = new Array(6).fill(0);
    let sum = 0;
    const n = 60_000;
    for (let i = 0; i < n; i++) {
      const u = rng.float();
      expect(u).toBeGreaterThanOrEqual(0);
      expect(u).toBeLessThan(1);
      sum += u;
      counts[rng.int(6)]++;
    }
    expect(sum / n).toBeCloseTo(0.5, 2);
    for (const c of counts) expect(Math.abs(c - n / 6)).toBeLessThan(0.05 * (n / 6));
  });

  it('categorical() follows the weights and refuses all-zero weights', () => {
    const rng = new Rng(3);
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) counts[rng.categorical([1, 0, 3])]++;
    expect(counts[1]).toBe(0);
    expect(counts[2] / counts[0]).toBeGreaterThan(2.7);
    expect(counts[2] / counts[0]).toBeLessThan(3.3);
    expect(() => rng.categorical([0, 0])).toThrow(/sum to 0/);
  });

  it('sampleIndices() gives k distinct sorted indices', () => {
    const rng = new Rng(5);
    for (let t = 0; t < 100; t++) {
      const idx = rng.sampleIndices(10, 4);
      expect(new Set(idx).size).toBe(4);
      expect([...idx].sort((a, b) => a - b)).toEqual(idx);
      expect(Math.max(...idx)).toBeLessThan(10);
    }
  });
});
