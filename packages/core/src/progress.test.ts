import { describe, expect, it, vi } from 'vitest';
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
    expect(chunks.length).toBe(2); // the line at 4/4 is not printed again by finish()
    expect(last).toMatch(/^synth {2}4\/4 {2}100\.0% {2}[\d.,]+ sent\/s {2}elapsed 0:0\d$/);
  });

  it('off a TTY, finish() prints the last count once; on a TTY it ends the line in place', () => {
    for (const isTTY of [false, true]) {
      const chunks: string[] = [];
      const stream = { write: (s: string) => chunks.push(s), isTTY } as unknown as NodeJS.WritableStream;
      const progress = new Progress({ label: 'predict', total: 1, unit: 'line', stream, intervalMs: 0 });
      progress.tick();
      progress.finish();
      expect(chunks.filter((c) => c.includes('1/1  100.0%'))).toHaveLength(isTTY ? 2 : 1);
      if (isTTY) expect(chunks[1].endsWith('\n')).toBe(true);
    }
  });

  it('measures the ETA from the first tick on: a slow first step or a resume does not skew it', () => {
    let now = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const progress = new Progress({ label: 'train', total: 100, unit: 'step', enabled: false });
      now = 60_000; // the first step took a minute (start-up)
      progress.tick();
      expect(progress.render()).not.toContain('ETA'); // one point is no rate
      now = 61_000; // then one step a second
      progress.tick();
      expect(progress.render()).toContain('ETA 1:38');
      const resumed = new Progress({ label: 'train', total: 100, unit: 'step', enabled: false });
      resumed.tick(50); // a resume at step 50
      now = 63_000;
      resumed.tick(2);
      expect(resumed.render()).toContain('ETA 0:48');
    } finally {
      clock.mockRestore();
    }
  });

  it('adds the extra fields after the rate', () => {
    const progress = new Progress({ label: 'prepare', unit: 'docs', enabled: false, extra: (seconds) => `tokens ${seconds >= 0 ? 'ok' : 'bad'}` });
    progress.tick(3);
    expect(progress.finish()).toMatch(/^prepare {2}3 {2}[\d.,]+ docs\/s {2}tokens ok {2}elapsed 0:0\d$/);
  });
});
