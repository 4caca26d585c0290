import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MetricsLog, readMetricsLog } from './metrics-log';

const tmp = mkdtempSync(join(tmpdir(), 'trainer-metrics-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('MetricsLog', () => {
  it('appends one JSON object per line and reads them back', async () => {
    const path = join(tmp, 'a', 'metrics.jsonl');
    const log = await MetricsLog.open(path);
    await log.append({ step: 1, epoch: 0, split: 'train', loss: 2.5, lr: 0.001 });
    await log.append({ step: 1, epoch: 0, split: 'dev', loss: 2.25, f1: 0.5 });
    expect(readFileSync(path, 'utf8')).toBe(
      '{"step":1,"epoch":0,"split":"train","loss":2.5,"lr":0.001}\n{"step":1,"epoch":0,"split":"dev","loss":2.25,"f1":0.5}\n',
    );
    expect((await readMetricsLog(path)).map((r) => r.split)).toEqual(['train', 'dev']);
  });

  it('a fresh run starts empty; a resumed run drops the records after the checkpoint step', async () => {
    const path = join(tmp, 'b', 'metrics.jsonl');
    const log = await MetricsLog.open(path);
    for (const step of [1, 2, 3, 4]) await log.append({ step, epoch: 0, split: 'train', loss: 1 / step });
    await MetricsLog.open(path, { resumeAtStep: 2 });
    expect((await readMetricsLog(path)).map((r) => r.step)).toEqual([1, 2]);
    await MetricsLog.open(path);
    expect(await readMetricsLog(path)).toEqual([]);
  });

  it('a missing file reads as empty; a bad line is named by file and line', async () => {
    expect(await readMetricsLog(join(tmp, 'missing.jsonl'))).toEqual([]);
    const path = join(tmp, 'bad.jsonl');
    writeFileSync(path, '{"step":1}\n\n{oops\n{"step":2}\n');
    await expect(readMetricsLog(path)).rejects.toThrow(/readMetricsLog: .*bad\.jsonl:3: /);
  });

  it('a torn last line (an append cut by a kill or power loss) is dropped, and a resume continues past it', async () => {
    const path = join(tmp, 'torn', 'metrics.jsonl');
    const log = await MetricsLog.open(path);
    for (const step of [1, 2]) await log.append({ step, epoch: 0, split: 'train', loss: 1 });
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"step":3,"ep\0\0`);
    expect((await readMetricsLog(path)).map((r) => r.step)).toEqual([1, 2]);
    await MetricsLog.open(path, { resumeAtStep: 2 });
    expect(readFileSync(path, 'utf8')).toBe('{"step":1,"epoch":0,"split":"train","loss":1}\n{"step":2,"epoch":0,"split":"train","loss":1}\n');
  });
});
