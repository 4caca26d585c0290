import { describe, expect, it } from 'vitest';
import { DEFAULT_GENERATION_CONFIG, eosTokenIds, resolveGenerationConfig } from './generation-config';

describe('resolveGenerationConfig', () => {
  it('fills defaults and keeps given values', () => {
    const c = resolveGenerationConfig({ topK: 5, eosTokenId: [2, 3], temperature: undefined });
    expect(c).toEqual({ ...DEFAULT_GENERATION_CONFIG, topK: 5, eosTokenId: [2, 3] });
    expect(DEFAULT_GENERATION_CONFIG).toEqual({
      maxNewTokens: 20,
      doSample: false,
      temperature: 1,
      topK: 0,
      topP: 1,
      minP: 0,
      repetitionPenalty: 1,
      noRepeatNgramSize: 0,
      eosTokenId: null,
      padTokenId: null,
    });
  });

  it('accepts the boundaries', () => {
    expect(() => resolveGenerationConfig({ maxNewTokens: 0, topP: 1e-9, minP: 1, eosTokenId: 0, padTokenId: 0 })).not.toThrow();
  });

  it.each([
    [{ maxNewTokens: -1 }, 'generate: maxNewTokens must be an integer >= 0, got -1'],
    [{ maxNewTokens: 1.5 }, 'generate: maxNewTokens must be an integer >= 0, got 1.5'],
    [{ doSample: 1 }, 'generate: doSample must be a boolean, got 1'],
    [{ temperature: 0 }, 'generate: temperature must be a finite number > 0, got 0'],
    [{ temperature: Infinity }, 'generate: temperature must be a finite number > 0, got Infinity'],
    [{ topK: -2 }, 'generate: topK must be an integer >= 0, got -2'],
    [{ topP: 1.5 }, 'generate: topP must be in [0, 1], got 1.5'],
    [{ topP: 0 }, 'generate: topP must be > 0 (1 = off), got 0'],
    [{ minP: -0.1 }, 'generate: minP must be in [0, 1], got -0.1'],
    [{ repetitionPenalty: -1 }, 'generate: repetitionPenalty must be a finite number > 0, got -1'],
    [{ noRepeatNgramSize: 2.5 }, 'generate: noRepeatNgramSize must be an integer >= 0, got 2.5'],
    [{ eosTokenId: -1 }, 'generate: eosTokenId must be a token id (an integer >= 0), got -1'],
    [{ eosTokenId: [1, 'x'] }, 'generate: eosTokenId[1] must be a token id (an integer >= 0), got "x"'],
    [{ padTokenId: 0.5 }, 'generate: padTokenId must be a token id (an integer >= 0), got 0.5'],
    [{ top_k: 3 }, 'generate: unknown config key "top_k"'],
  ])('rejects %j', (config, message) => {
    expect(() => resolveGenerationConfig(config as never, 'generate')).toThrow(message);
  });
});

describe('eosTokenIds', () => {
  it.each([
    [null, []],
    [4, [4]],
    [[4, 7], [4, 7]],
  ])('%j → %j', (eosTokenId, ids) => {
    expect(eosTokenIds({ eosTokenId })).toEqual(ids);
  });
});
