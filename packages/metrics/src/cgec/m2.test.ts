import { describe, expect, it } from 'vitest';
import { parseM2 } from './m2';

describe('parseM2', () => {
  it('reads S and A lines, removes token spaces from corrections and maps -NONE- to ""', () => {
    const text = [
      'S 这 部 电 影 不 仅 是 国 内',
      'T0-A0 这 部 电 影 不 仅 是 在 国 内',
      'A 7 7|||M|||在|||REQUIRED|||-NONE-|||0',
      'A 3 10|||W|||外 国 人|||REQUIRED|||-NONE-|||1',
      'A 2 3|||R|||-NONE-|||REQUIRED|||-NONE-|||1',
      '',
      'S 好',
      'T0 没有错误',
      'A -1 -1|||noop|||-NONE-|||REQUIRED|||-NONE-|||0',
      '',
    ].join('\r\n');
    expect(parseM2(text)).toEqual([
      {
        source: ['这', '部', '电', '影', '不', '仅', '是', '国', '内'],
        edits: [
          { start: 7, end: 7, type: 'M', correction: '在', annotator: 0 },
          { start: 3, end: 10, type: 'W', correction: '外国人', annotator: 1 },
          { start: 2, end: 3, type: 'R', correction: '', annotator: 1 },
        ],
      },
      { source: ['好'], edits: [{ start: -1, end: -1, type: 'noop', correction: '', annotator: 0 }] },
    ]);
  });

  it('treats several blank lines as one separator', () => {
    expect(parseM2('S a\n\n\n\nS b\n')).toHaveLength(2);
  });

  it.each([
    { text: 'A 1 2|||S|||x|||REQUIRED|||-NONE-|||0', message: 'parseM2: demo.m2:1: edit line before any S line' },
    { text: 'S a b\nA 1|||S|||x|||REQUIRED|||-NONE-|||0', message: "parseM2: demo.m2:2: span must be two integers 'start end'" },
    { text: 'S a b\nA 2 1|||S|||x|||REQUIRED|||-NONE-|||0', message: 'with start <= end, got "2 1"' },
    { text: 'S a b\nA 1 2|||S', message: 'parseM2: demo.m2:2: an edit needs' },
    { text: 'S a b\nA 1 2|||S|||x|||REQUIRED|||-NONE-|||zero', message: 'parseM2: demo.m2:2: annotator id must be a non-negative integer, got "zero"' },
  ])('names the file and line of a bad record: $message', ({ text, message }) => {
    expect(() => parseM2(text, 'demo.m2')).toThrow(message);
  });
});
