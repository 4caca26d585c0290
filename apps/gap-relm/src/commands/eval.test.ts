import { cscMetrics } from '@proj/metrics';
import { describe, expect, it } from 'vitest';
import { formatCscTable } from './eval';

describe('formatCscTable', () => {
  it.each([
    {
      name: 'every pair scored',
      gold: [['他门来了。', '他们来了。'], ['你好。', '你好。']],
      line: 'FPR 0.00%  sentences 2  length_mismatch 0',
    },
    {
      name: 'a gold pair that changes length is skipped, and the table says so',
      gold: [['他门来了。', '他们来了。'], ['我跟朋唷去。', '我跟朋友去了。'], ['你好。', '你好。']],
      line: 'FPR 0.00%  sentences 2 of 3 (1 gold pairs that change length skipped)  length_mismatch 0',
    },
  ])('$name', ({ gold, line }) => {
    const m = cscMetrics(gold.map((g) => g[0]), gold.map((g) => g[1]), gold.map((g) => g[1]));
    expect(formatCscTable(m).trimEnd().split('\n').at(-1)).toBe(line);
  });
});
