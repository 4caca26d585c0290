import { describe, expect, it } from 'vitest';
import { pythonRound } from './python-round';

describe('pythonRound', () => {
  // Expected values printed by CPython 3 `round(x, digits)`.
  it.each([
    { x: 0.03125, digits: 4, expected: 0.0312 }, // exact binary tie: half to even (toFixed gives 0.0313)
    { x: 0.28125, digits: 4, expected: 0.2812 },
    { x: 0.15625, digits: 4, expected: 0.1562 },
    { x: 0.2649006622516556, digits: 4, expected: 0.2649 },
    { x: 2.675, digits: 2, expected: 2.67 }, // 2.675 is stored just below the tie
    { x: 0.00005, digits: 4, expected: 0.0001 }, // stored just above the tie
    { x: 0.00015, digits: 4, expected: 0.0001 },
    { x: 0.99995, digits: 4, expected: 1 },
    { x: 1 / 3, digits: 4, expected: 0.3333 },
    { x: 0.5, digits: 0, expected: 0 },
    { x: 1.5, digits: 0, expected: 2 },
    { x: 2.5, digits: 0, expected: 2 },
    { x: -0.28125, digits: 4, expected: -0.2812 },
    { x: 0, digits: 4, expected: 0 },
  ])('round($x, $digits) = $expected', ({ x, digits, expected }) => {
    expect(pythonRound(x, digits)).toBe(expected);
  });
});
