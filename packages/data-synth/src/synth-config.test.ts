import { DEFAULT_MAX_INSERT_K } from '@proj/align';
import { describe, expect, it } from 'vitest';
import { SynthConfigSchema, defaultSynthConfig, parseSynthConfig } from './synth-config';

describe('SynthConfig', () => {
  it('has one default per field, max_insert_k from @proj/align', () => {
    expect(Object.keys(defaultSynthConfig).sort()).toEqual(Object.keys(SynthConfigSchema.shape).sort());
    expect(defaultSynthConfig.max_insert_k).toBe(DEFAULT_MAX_INSERT_K);
    expect(defaultSynthConfig.lambda_mode).toBe('constant');
    expect(Object.isFrozen(defaultSynthConfig)).toBe(true);
    expect(parseSynthConfig({ pi_skip: 0.5 })).toEqual({ ...defaultSynthConfig, pi_skip: 0.5 });
  });

  it.each([
    [{ pi_skip: 0, pi_multiply: 0, pi_replace: 0 }, 'pi_skip + pi_multiply + pi_replace must be > 0, got 0'],
    [{ p_corrupt: 1.5 }, 'p_corrupt: must be in [0, 1], got 1.5'],
    [{ pi_replace: -1 }, 'pi_replace: must be >= 0, got -1'],
    [{ seed: 1.5 }, 'seed: must be an integer, got 1.5'],
    [{ max_insert_k: 0 }, 'max_insert_k: must be >= 1, got 0'],
    [{ lambda_mode: 'length', min_length: 20, max_length: 20 }, "max_length must be > min_length (20) when lambda_mode is 'length', got 20"],
    [{ pi_skp: 1 }, 'Unrecognized key: "pi_skp" (known fields: pi_skip,'],
    [{ base_lambda: '1' }, 'base_lambda: Invalid input: expected number, received string, got "1"'],
  ])('rejects %o with a message naming field and value', (input, message) => {
    expect(() => parseSynthConfig(input)).toThrow(message);
    expect(() => parseSynthConfig(input, 'ErrorGenerator')).toThrow(/^ErrorGenerator: invalid synthesis config: /);
  });

  it('reports every problem at once', () => {
    expect(() => parseSynthConfig({ p_corrupt: 2, num_negative: -1 })).toThrow(/p_corrupt: .*; num_negative: /);
  });
});
