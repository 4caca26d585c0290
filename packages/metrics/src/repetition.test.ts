import { describe, expect, it } from 'vitest';
import { copiesPrompt, distinctN, loops, repetitionReport } from './repetition';

const chars = (s: string) => Array.from(s);

describe('repetition measures', () => {
  it.each([
    // [generations, n, distinct-n] computed by hand
    [['abab'], 1, 2 / 4],
    [['abab'], 2, 2 / 3], // ab, ba, ab
    [['abc', 'abd'], 2, 3 / 4], // ab, bc, ab, bd
    [['你好你好你好'], 2, 2 / 5],
    [['a'], 2, 0], // no bigrams at all
    [[], 1, 0],
  ] as const)('distinctN(%j, %i) = %d', (generations, n, want) => {
    expect(distinctN(generations.map(chars), n)).toBeCloseTo(want, 12);
  });

  it.each([
    ['北京是', '北京是中国的首都', 8, true], // the whole short prompt
    ['北京是', '上海是中国的城市', 8, false],
    ['今天天气很好我们去公园散步吧', '我们去公园散步吧然后回家', 8, true], // an 8-character run
    ['今天天气很好我们去公园散步吧', '我们去公园玩', 8, false],
    ['', '任何', 8, false],
  ] as const)('copiesPrompt(%s, %s, span %i) = %s', (prompt, generation, span, want) => {
    expect(copiesPrompt(chars(prompt), chars(generation), span)).toBe(want);
  });

  it('loops when an n-gram comes back `times` times', () => {
    expect(loops(chars('的的的的的的'), 4, 3)).toBe(true); // 的的的的 at 0, 1, 2
    expect(loops(chars('我爱北京我爱北京我爱北京'), 4, 3)).toBe(true);
    expect(loops(chars('我爱北京我爱北京'), 4, 3)).toBe(false);
    expect(loops(chars('床前明月光疑是地上霜'), 2, 2)).toBe(false);
    expect(() => loops([], 0)).toThrow('loops: n must be an integer >= 1, got 0');
  });

  it('repetitionReport pools the measures', () => {
    const r = repetitionReport([chars('北京'), chars('天气')], [chars('北京北京北京北京'), chars('很好')], { span: 8, loopN: 2, loopTimes: 3 });
    expect(r).toEqual({ distinct1: 4 / 10, distinct2: 3 / 8, promptCopyRate: 0.5, loopRate: 0.5, generations: 2 });
    expect(() => repetitionReport([[1]], [])).toThrow('1 prompts but 0 generations');
  });
});
