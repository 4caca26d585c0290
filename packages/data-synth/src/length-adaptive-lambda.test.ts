import { describe, expect, it } from 'vitest';
import { LengthAdaptiveLambda, type LengthAdaptiveLambdaOptions } from './length-adaptive-lambda';

const base: LengthAdaptiveLambdaOptions = {
  lambda_mode: 'constant',
  base_lambda: 1.5,
  min_length: 10,
  max_length: 50,
  min_lambda: 0.5,
  max_lambda: 2.5,
  error_ratio: 0.04,
};

describe('LengthAdaptiveLambda', () => {
  it.each([
    { mode: 'constant', length: 3, lambda: 1.5 },
    { mode: 'constant', length: 300, lambda: 1.5 },
    { mode: 'length', length: 0, lambda: 0.5 }, // clamped below
    { mode: 'length', length: 10, lambda: 0.5 },
    { mode: 'length', length: 30, lambda: 1.5 }, // midpoint
    { mode: 'length', length: 40, lambda: 2.0 },
    { mode: 'length', length: 50, lambda: 2.5 },
    { mode: 'length', length: 500, lambda: 2.5 }, // clamped above
    { mode: 'ratio', length: 25, lambda: 1.0 },
    { mode: 'ratio', length: 0, lambda: 0 },
  ] as const)('$mode at length $length is $lambda', ({ mode, length, lambda }) => {
    expect(new LengthAdaptiveLambda({ ...base, lambda_mode: mode }).at(length)).toBeCloseTo(lambda, 12);
  });

  it('validates only the options its mode uses, naming them', () => {
    expect(() => new LengthAdaptiveLambda({ ...base, lambda_mode: 'length', max_length: 10 })).toThrow(
      'LengthAdaptiveLambda: max_length must be > min_length (10), got 10',
    );
    expect(() => new LengthAdaptiveLambda({ ...base, lambda_mode: 'ratio', error_ratio: -1 })).toThrow(
      'LengthAdaptiveLambda: error_ratio must be a finite number >= 0, got -1',
    );
    expect(new LengthAdaptiveLambda({ ...base, lambda_mode: 'constant', max_length: 0 }).at(5)).toBe(1.5);
  });
});
