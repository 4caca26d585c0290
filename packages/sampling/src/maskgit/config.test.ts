import { describe, expect, it } from 'vitest';
import { DEFAULT_MASKGIT_CONFIG, resolveMaskGitConfig } from './config';

describe('resolveMaskGitConfig', () => {
  it('fills defaults and keeps given values', () => {
    expect(DEFAULT_MASKGIT_CONFIG).toEqual({ steps: 8, schedule: 'cosine', guidanceScale: 1, temperature: 1, choiceTemperature: 4.5 });
    expect(resolveMaskGitConfig({ steps: 12, guidanceScale: 3, temperature: undefined })).toEqual({
      ...DEFAULT_MASKGIT_CONFIG,
      steps: 12,
      guidanceScale: 3,
    });
    expect(resolveMaskGitConfig()).toEqual(DEFAULT_MASKGIT_CONFIG);
  });

  it('accepts the boundaries', () => {
    expect(() => resolveMaskGitConfig({ steps: 1, schedule: 'linear', guidanceScale: 0, temperature: 0, choiceTemperature: 0 })).not.toThrow();
  });

  it.each([
    [{ steps: 0 }, 'maskGitDecode: steps must be an integer >= 1, got 0'],
    [{ steps: 2.5 }, 'maskGitDecode: steps must be an integer >= 1, got 2.5'],
    [{ steps: Infinity }, 'maskGitDecode: steps must be an integer >= 1, got Infinity'],
    [{ schedule: 'cos' }, 'maskGitDecode: schedule must be one of cosine, linear, got cos'],
    [{ guidanceScale: -1 }, 'maskGitDecode: guidanceScale must be a finite number >= 0, got -1'],
    [{ guidanceScale: Infinity }, 'maskGitDecode: guidanceScale must be a finite number >= 0, got Infinity'],
    [{ temperature: NaN }, 'maskGitDecode: temperature must be a finite number >= 0, got NaN'],
    [{ temperature: '1' }, 'maskGitDecode: temperature must be a finite number >= 0, got 1'],
    [{ choiceTemperature: -0.5 }, 'maskGitDecode: choiceTemperature must be a finite number >= 0, got -0.5'],
    [{ guidance: 2 }, 'maskGitDecode: unknown config key "guidance"'],
  ])('rejects %j', (config, message) => {
    expect(() => resolveMaskGitConfig(config as never, 'maskGitDecode')).toThrow(message);
  });

  it('rejects a non-object', () => {
    expect(() => resolveMaskGitConfig(null as never, 'maskGitDecode')).toThrow('maskGitDecode: config must be an object, got null');
  });
});
