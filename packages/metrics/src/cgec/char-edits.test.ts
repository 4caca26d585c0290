import { describe, expect, it } from 'vitest';
import { extractCharEdits, type SpanEdit } from './char-edits';

describe('extractCharEdits', () => {
  it.each<{ source: string; target: string; edits: SpanEdit[] }>([
    { source: '我门去学校', target: '我们去学校', edits: [{ start: 1, end: 2, correction: '们', type: 'S' }] },
    { source: '这部电影不仅是国内', target: '这部电影不仅是在国内', edits: [{ start: 7, end: 7, correction: '在', type: 'M' }] },
    { source: '我我们去', target: '我们去', edits: [{ start: 1, end: 2, correction: '', type: 'R' }] },
    // ChERRANT's demo: "1 0" -> "十" is one merged edit (replace + delete).
    { source: '草菇10个', target: '草菇十个', edits: [{ start: 2, end: 4, correction: '十', type: 'S' }] },
    // Two separate errors stay two edits.
    { source: '他门在学效', target: '他们在学校', edits: [{ start: 1, end: 2, correction: '们', type: 'S' }, { start: 4, end: 5, correction: '校', type: 'S' }] },
    // Non-BMP chars are one position each: the edit is at code point 1, not UTF-16 unit 2.
    { source: '𠀀门好', target: '𠀀们好', edits: [{ start: 1, end: 2, correction: '们', type: 'S' }] },
    { source: '好', target: '好', edits: [] },
    { source: '', target: '好的', edits: [{ start: 0, end: 0, correction: '好的', type: 'M' }] },
    { source: '好的', target: '', edits: [{ start: 0, end: 2, correction: '', type: 'R' }] },
  ])('$source -> $target', ({ source, target, edits }) => {
    expect(extractCharEdits(source, target)).toEqual(edits);
  });

  it('produces edits that rebuild the target, over many seeded random pairs', () => {
    // A tiny LCG keeps this test self-contained and reproducible.
    let state = 12345;
    const next = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state % n;
    };
    const alphabet = Array.from('我们的好𠀀ab');
    const randomText = () => Array.from({ length: next(8) }, () => alphabet[next(alphabet.length)]).join('');
    for (let trial = 0; trial < 500; trial++) {
      const source = randomText();
      const target = randomText();
      const src = Array.from(source);
      let rebuilt = '';
      let pos = 0;
      for (const e of extractCharEdits(source, target)) {
        expect(e.start).toBeGreaterThanOrEqual(pos);
        rebuilt += src.slice(pos, e.start).join('') + e.correction;
        pos = e.end;
      }
      rebuilt += src.slice(pos).join('');
      expect(rebuilt, `${source} -> ${target}`).toBe(target);
    }
  });
});
