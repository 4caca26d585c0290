import { describe, expect, it } from 'vitest';
import { DEFAULT_GAP_RELM_DECODE_CONFIG, resolveGapRelmDecodeConfig } from './config';

describe('resolveGapRelmDecodeConfig', () => {
  it('fills defaults and keeps given values', () => {
    const c = resolveGapRelmDecodeConfig({ deleteThreshold: 0.3, refinementRounds: 2, batchSize: undefined });
    expect(c).toEqual({ ...DEFAULT_GAP_RELM_DECODE_CONFIG, deleteThreshold: 0.3, refinementRounds: 2 });
    expect(c.batchSize).toBe(32);
    expect(DEFAULT_GAP_RELM_DECODE_CONFIG).toEqual({
      deleteThreshold: 0.5,
      replaceThreshold: 0.5,
      insertThreshold: 0.5,
      maxInsertsPerSentence: Infinity,
      noInsert: false,
      noDelete: false,
      refinementRounds: 0,
      refinementFraction: 0.5,
      specialTokens: ['[UNK]', '[PAD]', '[CLS]', '[SEP]', '[MASK]'],
      batchSize: 32,
    });
  });

  it('accepts the boundaries', () => {
    expect(() => resolveGapRelmDecodeConfig({ deleteThreshold: 0, insertThreshold: 1, maxInsertsPerSentence: 0, refinementFraction: 1 })).not.toThrow();
  });

  it.each([
    [{ deleteThreshold: 1.5 }, 'correct: deleteThreshold must be in [0, 1], got 1.5'],
    [{ replaceThreshold: -0.1 }, 'correct: replaceThreshold must be in [0, 1], got -0.1'],
    [{ insertThreshold: NaN }, 'correct: insertThreshold must be in [0, 1], got NaN'],
    [{ maxInsertsPerSentence: 2.5 }, 'correct: maxInsertsPerSentence must be an integer >= 0 or Infinity, got 2.5'],
    [{ refinementRounds: -1 }, 'correct: refinementRounds must be an integer >= 0, got -1'],
    [{ refinementFraction: 2 }, 'correct: refinementFraction must be in [0, 1], got 2'],
    [{ batchSize: 0 }, 'correct: batchSize must be an integer >= 1, got 0'],
    [{ batchSize: Infinity }, 'correct: batchSize must be an integer >= 1, got Infinity'],
    [{ noDelete: 'yes' }, 'correct: noDelete must be a boolean, got yes'],
    [{ specialTokens: '[UNK]' }, 'correct: specialTokens must be an array of strings, got "[UNK]"'],
    [{ deleteTreshold: 0.2 }, 'correct: unknown config key "deleteTreshold"'],
  ])('rejects %j', (config, message) => {
    expect(() => resolveGapRelmDecodeConfig(config as never, 'correct')).toThrow(message);
  });
});
