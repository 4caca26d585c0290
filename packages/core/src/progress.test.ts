import { describe, expect, it } from 'vitest';
import { Progress, formatDuration } from './progress';

describe('Progress', () => {
  it('formats durations', () => {
    expect(formatDuration(5)).toBe('0:05');
    expect(formatDuration(125)).toBe('2:05');
    expect(formatDuration(3725)).toBe('1:02:05');
  });

  it('writes count, percent and rate to its stream', () => {
    const chunks: string[] = [];
    const stream = { write: (s: string) => chunks.push(s), isTTY: false } as unknown as NodeJS.WritableStream;
    const progress = new Progress({ label: 'synth', total: 4, unit: 'sent', stream, intervalMs: 0 });
    progress.tick(2);
    progress.tick(2);
    const last = progress.finish();
    expect(chunks.length).toBe(3);
    expect(last).toMatch(/^synth {2}4\/4 {2}100\.0% {2}[\d.,]+ sent\/s {2}elapsed 0:0\d$/);
  });

  it('adds the extra fields after the rate', () => {
    const progress = new Progress({ label: 'prepare', unit: 'docs', enabled: false, extra: (seconds) => `tokens ${seconds >= 0 ? 'ok' : 'bad'}` });
    progress.tick(3);
    expect(progress.finish()).toMatch(/^prepare {2}3 {2}[\d.,]+ docs\/s {2}tokens ok {2}elapsed 0:0\d$/);
  });
});
