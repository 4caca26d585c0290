import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@proj/core';

/** One line of metrics.jsonl: `split` "train" (one optimizer step) or "dev" (one evaluation). */
export interface MetricsRecord {
  step: number;
  epoch: number;
  split: 'train' | 'dev';
  [metric: string]: number | string;
}

/** Appends one JSON object per line to `metrics.jsonl`, so a crash loses at most the last line. */
export class MetricsLog {
  private constructor(readonly path: string) {}

  /**
   * Opens the log. A fresh run starts an empty file; a resumed run keeps the records up to the
   * checkpoint's step and drops the ones an interrupted run wrote after it, which would
   * otherwise appear twice.
   */
  static async open(path: string, options: { resumeAtStep?: number } = {}): Promise<MetricsLog> {
    await mkdir(dirname(path), { recursive: true });
    const kept = options.resumeAtStep === undefined ? [] : (await readMetricsLog(path)).filter((r) => r.step <= options.resumeAtStep!);
    await writeFileAtomic(path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
    return new MetricsLog(path);
  }

  async append(record: MetricsRecord): Promise<void> {
    await appendFile(this.path, `${JSON.stringify(record)}\n`);
  }
}

/**
 * All records of a metrics.jsonl; a missing file reads as empty, a bad line names file:line. A bad
 * last line is an append cut short (a kill or power loss mid-write) and is dropped, so it never
 * blocks a resume.
 */
export async function readMetricsLog(path: string): Promise<MetricsRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const lines = text
    .split('\n')
    .map((line, i) => [line, i + 1] as const)
    .filter(([line]) => line.replace(/\0/g, '').trim() !== '');
  return lines.flatMap(([line, n], i) => {
    try {
      return [JSON.parse(line) as MetricsRecord];
    } catch (error) {
      if (i === lines.length - 1) return [];
      throw new SyntaxError(`readMetricsLog: ${path}:${n}: ${(error as Error).message}`);
    }
  });
}
