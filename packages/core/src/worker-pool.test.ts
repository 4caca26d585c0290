import { describe, expect, it } from 'vitest';
import { mapInWorkers, resolveWorkerScript } from './worker-pool';

const script = resolveWorkerScript(new URL('../test/', import.meta.url).href, 'square-worker');

describe('mapInWorkers', () => {
  it('returns results in task order whatever the thread count', async () => {
    const tasks = Array.from({ length: 50 }, (_, i) => i);
    for (const threads of [1, 2, 3]) {
      const results: number[] = [];
      for await (const r of mapInWorkers<number, number>(script, tasks, { threads, workerData: { offset: 1 } })) results.push(r);
      expect(results).toEqual(tasks.map((i) => i * i + 1));
    }
  });

  it('reports a failing task as an error', async () => {
    const run = async () => {
      for await (const _ of mapInWorkers<number, number>(script, [1, -1, 2], { threads: 2, workerData: { offset: 0 } })) {
        // drain
      }
    };
    await expect(run()).rejects.toThrow(/negative input -1/);
  });
});
