import { describe, expect, it } from 'vitest';
import { lrAt, type LrSchedule } from './lr-schedule';

const base: LrSchedule = { lr: 1, min_lr: 0.1, warmup_steps: 4, total_steps: 14, schedule: 'cosine' };

// Hand-computed: warmup 0, .25, .5, .75 (steps 0-3); decay over 10 steps, p = (step - 4) / 10.
describe('lrAt', () => {
  it.each([
    // schedule, step, expected
    ['cosine', 0, 0],
    ['cosine', 1, 0.25],
    ['cosine', 3, 0.75],
    ['cosine', 4, 1], // p = 0: the peak
    ['cosine', 9, 0.55], // p = 0.5: 0.1 + 0.9 * 0.5 * (1 + cos(pi/2)) = 0.55
    ['cosine', 14, 0.1], // end: the floor
    ['cosine', 100, 0.1], // past the end: stays at the floor
    ['linear', 4, 1],
    ['linear', 9, 0.55], // 0.1 + 0.9 * 0.5
    ['linear', 13, 0.19], // 0.1 + 0.9 * 0.1
    ['linear', 14, 0.1],
    ['constant', 2, 0.5], // warmup still applies
    ['constant', 4, 1],
    ['constant', 1000, 1],
  ] as const)('%s at step %i is %f', (schedule, step, expected) => {
    expect(lrAt(step, { ...base, schedule })).toBeCloseTo(expected, 12);
  });

  it('polynomial with power 2: min + range * (1 - p)^2', () => {
    const s: LrSchedule = { ...base, schedule: 'polynomial', power: 2 };
    expect(lrAt(9, s)).toBeCloseTo(0.1 + 0.9 * 0.25, 12); // p = 0.5
    expect(lrAt(6, s)).toBeCloseTo(0.1 + 0.9 * 0.64, 12); // p = 0.2
    expect(lrAt(14, s)).toBeCloseTo(0.1, 12);
  });

  it('polynomial with power 1 equals linear', () => {
    for (let step = 0; step <= 16; step++) {
      expect(lrAt(step, { ...base, schedule: 'polynomial', power: 1 })).toBeCloseTo(lrAt(step, { ...base, schedule: 'linear' }), 12);
    }
  });

  it('without warmup starts at the peak; cosine is monotone non-increasing after it', () => {
    const s: LrSchedule = { ...base, warmup_steps: 0 };
    expect(lrAt(0, s)).toBe(1);
    for (let step = 1; step <= 20; step++) expect(lrAt(step, s)).toBeLessThanOrEqual(lrAt(step - 1, s));
  });

  it('warmup as long as the run: never decays, then the floor', () => {
    const s: LrSchedule = { ...base, warmup_steps: 14 };
    expect(lrAt(7, s)).toBeCloseTo(0.5, 12);
    expect(lrAt(14, s)).toBe(0.1);
  });

  it('rejects a bad step or a floor above the peak, naming the argument', () => {
    expect(() => lrAt(-1, base)).toThrow(/lrAt: step must be an integer >= 0, got -1/);
    expect(() => lrAt(1.5, base)).toThrow(/got 1.5/);
    expect(() => lrAt(0, { ...base, min_lr: 2 })).toThrow(/min_lr \(2\) must be <= lr \(1\)/);
  });
});
