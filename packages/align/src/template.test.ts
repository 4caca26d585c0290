import { describe, expect, it } from 'vitest';
import { buildTemplate, fillTemplate } from './template';

const M = '[MASK]';

describe('buildTemplate', () => {
  it.each([
    { name: 'all keep', tokens: ['我', '朋'], ops: [0, 0, 0], ins: [0, 0, 0], template: ['我', '朋'], masks: [] },
    { name: 'replace', tokens: ['我', '唷'], ops: [0, 0, 2], ins: [0, 0, 0], template: ['我', M], masks: [1] },
    { name: 'delete', tokens: ['我', '我'], ops: [0, 1, 0], ins: [0, 0, 0], template: ['我'], masks: [] },
    { name: 'insert at start', tokens: ['朋'], ops: [0, 0], ins: [2, 0], template: [M, M, '朋'], masks: [0, 1] },
    { name: 'replace then insert', tokens: ['a', 'b'], ops: [0, 2, 0], ins: [0, 1, 0], template: [M, M, 'b'], masks: [0, 1] },
    { name: 'delete then insert', tokens: ['a', 'b'], ops: [0, 0, 1], ins: [0, 0, 3], template: ['a', M, M, M], masks: [1, 2, 3] },
    { name: 'empty source', tokens: [], ops: [0], ins: [1], template: [M], masks: [0] },
  ])('$name', ({ tokens, ops, ins, template, masks }) => {
    expect(buildTemplate(tokens, ops, ins)).toEqual({ template_tokens: template, mask_positions: masks });
  });

  it.each([
    { tokens: ['a'], ops: [0], ins: [0, 0], error: /buildTemplate: op_labels must have length tokens\+1=2, got 1/ },
    { tokens: ['a'], ops: [0, 0], ins: [0], error: /buildTemplate: insert_labels must have length tokens\+1=2, got 1/ },
    { tokens: ['a'], ops: [2, 0], ins: [0, 0], error: /op_labels\[0\] .* must be KEEP \(0\), got 2/ },
    { tokens: ['a'], ops: [0, 3], ins: [0, 0], error: /op_labels\[1\] must be 0 \(KEEP\), 1 \(DELETE\) or 2 \(REPLACE\), got 3/ },
    { tokens: ['a'], ops: [0, 0], ins: [0, -1], error: /insert_labels\[1\] must be an integer >= 0, got -1/ },
    { tokens: ['a'], ops: [0, 0], ins: [0.5, 0], error: /insert_labels\[0\] must be an integer >= 0, got 0.5/ },
  ])('rejects bad labels: $error', ({ tokens, ops, ins, error }) => {
    expect(() => buildTemplate(tokens, ops, ins)).toThrow(error);
  });
});

describe('fillTemplate', () => {
  it('fills masks in order and leaves the input alone', () => {
    const template = ['我', M, '友', M];
    expect(fillTemplate(template, ['朋', '们'])).toEqual(['我', '朋', '友', '们']);
    expect(template).toEqual(['我', M, '友', M]);
    expect(fillTemplate([], [])).toEqual([]);
  });

  it('throws RangeError when counts differ', () => {
    expect(() => fillTemplate([M, M], ['a'])).toThrow(RangeError);
    expect(() => fillTemplate([M, M], ['a'])).toThrow(/more \[MASK\]s than the 1 fills/);
    expect(() => fillTemplate([M], ['a', 'b'])).toThrow(/template has 1 \[MASK\]s but got 2 fills/);
  });
});
