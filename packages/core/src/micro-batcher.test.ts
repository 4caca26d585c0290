import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MicroBatcher } from './micro-batcher';

/** A runner whose batches finish when the test says so; it records every batch and overlapping calls. */
function manualRunner() {
  const batches: number[][] = [];
  const pending: { resolve: () => void; reject: (e: Error) => void }[] = [];
  let active = 0;
  let maxActive = 0;
  const run = (batch: number[]) => {
    batches.push(batch);
    active++;
    maxActive = Math.max(maxActive, active);
    return new Promise<string[]>((resolve, reject) => {
      pending.push({
        resolve: () => {
          active--;
          resolve(batch.map((x) => `out${x}`));
        },
        reject: (e) => {
          active--;
          reject(e);
        },
      });
    });
  };
  return { run, batches, pending, maxActive: () => maxActive };
}

/** Lets promise callbacks (microtasks) run. */
const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('MicroBatcher', () => {
  it('gathers concurrent submits for maxWaitMs into one batch and returns each its own outputs in order', async () => {
    const r = manualRunner();
    const b = new MicroBatcher({ run: r.run, maxBatchItems: 8, maxWaitMs: 5 });
    const first = b.submit([1]);
    await vi.advanceTimersByTimeAsync(3);
    const second = b.submit([2, 3]);
    expect(r.batches).toEqual([]);
    expect(b.queueDepth).toBe(3);
    // The wait counts from the oldest item: 5 ms after `first`, not after `second`.
    await vi.advanceTimersByTimeAsync(2);
    expect(r.batches).toEqual([[1, 2, 3]]);
    r.pending[0].resolve();
    expect(await first).toEqual(['out1']);
    expect(await second).toEqual(['out2', 'out3']);
    expect(b.stats()).toEqual({ batches: 1, items: 3, failedBatches: 0, sizeCounts: [0, 0, 0, 1, 0, 0, 0, 0, 0] });
  });

  it('runs a full batch at once without waiting', async () => {
    const r = manualRunner();
    const b = new MicroBatcher({ run: r.run, maxBatchItems: 3, maxWaitMs: 1000 });
    void b.submit([1, 2]);
    void b.submit([3, 4]);
    expect(r.batches).toEqual([[1, 3, 2]]); // round-robin over the two submits
    expect(b.queueDepth).toBe(1);
  });

  it('a large submit is spread over batches: a small one queued behind it rides in the next batch', async () => {
    const r = manualRunner();
    const b = new MicroBatcher({ run: r.run, maxBatchItems: 4, maxWaitMs: 0 });
    const big = b.submit([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const small = b.submit([100]);
    let smallDone = false;
    void small.then(() => (smallDone = true));
    expect(r.batches).toEqual([[1, 2, 3, 4]]); // the small submit arrived while this one was taken
    r.pending[0].resolve();
    await flush();
    expect(r.batches[1]).toEqual([100, 5, 6, 7]); // never served yet, so first
    r.pending[1].resolve();
    await flush();
    expect(smallDone).toBe(true);
    r.pending[2].resolve();
    await flush();
    expect(r.batches.slice(2)).toEqual([[8, 9, 10, 11], [12]]);
    r.pending[3].resolve();
    await expect(big).resolves.toHaveLength(12);
  });

  it('maxBatchCost bounds the work of a batch (at least one item each)', async () => {
    const r = manualRunner();
    const b = new MicroBatcher<number, string>({ run: r.run, maxBatchItems: 10, maxWaitMs: 0, maxBatchCost: 10, cost: (n) => n });
    const all = b.submit([6, 3, 12, 1]);
    expect(r.batches).toEqual([[6, 3]]);
    for (let i = 0; i < 3; i++) {
      r.pending[i].resolve();
      await flush();
    }
    expect(r.batches).toEqual([[6, 3], [12], [1]]);
    await expect(all).resolves.toHaveLength(4);
    expect(() => new MicroBatcher({ run: r.run, maxBatchItems: 1, maxWaitMs: 0, maxBatchCost: 0 })).toThrow(/maxBatchCost must be a number > 0, got 0/);
  });

  it('a cost bound that fits one item per batch still serves every submit in turn (least recently served first)', async () => {
    const r = manualRunner();
    const b = new MicroBatcher<number, string>({ run: r.run, maxBatchItems: 8, maxWaitMs: 0, maxBatchCost: 10, cost: (n) => n });
    void b.submit([10, 10, 10]); // A
    void b.submit([10, 10, 10]); // B
    void b.submit([1]); // C, small
    // A's first item went at once; then B, C and A take turns instead of A and B hogging the batches.
    for (let i = 0; i < 4; i++) {
      r.pending[i].resolve();
      await flush();
    }
    expect(r.batches.slice(0, 4)).toEqual([[10], [10], [1], [10]]);
  });

  it('fair: false takes items first in, first out (the baseline)', () => {
    const r = manualRunner();
    const b = new MicroBatcher({ run: r.run, maxBatchItems: 3, maxWaitMs: 1000, fair: false });
    void b.submit([1, 2]);
    void b.submit([3, 4]);
    expect(r.batches).toEqual([[1, 2, 3]]);
  });

  it('splits a submit larger than maxBatchItems and resolves it when every part is done, in order', async () => {
    const r = manualRunner();
    const b = new MicroBatcher({ run: r.run, maxBatchItems: 2, maxWaitMs: 5 });
    const big = b.submit([1, 2, 3, 4, 5]);
    let done = false;
    void big.then(() => (done = true));
    for (let i = 0; i < 2; i++) {
      r.pending[i].resolve();
      await flush();
      expect(done).toBe(false);
    }
    // The last part (one item) is not full: it waits out its 5 ms.
    await vi.advanceTimersByTimeAsync(5);
    r.pending[2].resolve();
    expect(await big).toEqual(['out1', 'out2', 'out3', 'out4', 'out5']);
    expect(r.batches).toEqual([[1, 2], [3, 4], [5]]);
  });

  it('runs one batch at a time; items queued meanwhile go together when the runner is free', async () => {
    const r = manualRunner();
    const b = new MicroBatcher({ run: r.run, maxBatchItems: 4, maxWaitMs: 5 });
    const a = b.submit([1]);
    await vi.advanceTimersByTimeAsync(5);
    const later = [b.submit([2]), b.submit([3])];
    await vi.advanceTimersByTimeAsync(50); // their wait is long over, but the runner is busy
    expect(r.batches).toEqual([[1]]);
    r.pending[0].resolve();
    await flush();
    expect(r.batches).toEqual([[1], [2, 3]]);
    r.pending[1].resolve();
    expect(await Promise.all([a, ...later])).toEqual([['out1'], ['out2'], ['out3']]);
    expect(r.maxActive()).toBe(1);
  });

  it('a failing batch rejects only its submits (and drops their queued rest); later batches still run', async () => {
    const r = manualRunner();
    const b = new MicroBatcher({ run: r.run, maxBatchItems: 2, maxWaitMs: 0 });
    const split = b.submit([1, 2, 3]); // [1, 2] runs now; 3 queues behind it
    const other = b.submit([4]);
    const outcome = Promise.allSettled([split, other]);
    r.pending[0].reject(new Error('model broke'));
    await flush();
    // 3 belonged to the failed submit, so only 4 runs next.
    expect(r.batches).toEqual([[1, 2], [4]]);
    r.pending[1].resolve();
    const [s, o] = await outcome;
    expect(s).toEqual({ status: 'rejected', reason: new Error('model broke') });
    expect(o).toEqual({ status: 'fulfilled', value: ['out4'] });
    const stats = b.stats();
    expect([stats.batches, stats.items, stats.failedBatches]).toEqual([2, 3, 1]);
    const after = b.submit([5]);
    await flush();
    r.pending[2].resolve();
    expect(await after).toEqual(['out5']);
  });

  it('a run that returns the wrong number of outputs fails its batch with a clear error', async () => {
    const b = new MicroBatcher<number, number>({ run: async (batch) => batch.slice(1), maxBatchItems: 4, maxWaitMs: 0 });
    await expect(b.submit([1, 2])).rejects.toThrow('MicroBatcher: run returned 1 outputs for a batch of 2');
    const sync = new MicroBatcher<number, number>({
      run: () => {
        throw new Error('sync throw');
      },
      maxBatchItems: 4,
      maxWaitMs: 0,
    });
    await expect(sync.submit([1])).rejects.toThrow('sync throw');
  });

  it('drain waits for queued and running work; close refuses new submits', async () => {
    const r = manualRunner();
    const b = new MicroBatcher({ run: r.run, maxBatchItems: 4, maxWaitMs: 5 });
    await b.drain(); // idle: at once
    expect(await b.submit([])).toEqual([]);
    const work = b.submit([1]);
    let drained = false;
    const closed = b.close().then(() => (drained = true));
    await expect(b.submit([2])).rejects.toThrow('MicroBatcher.submit: the batcher is closed and accepts no new work');
    await vi.advanceTimersByTimeAsync(5);
    expect(b.busy).toBe(true);
    expect(drained).toBe(false);
    r.pending[0].resolve();
    await closed;
    expect(await work).toEqual(['out1']);
    expect(r.batches).toEqual([[1]]);
  });

  it('validates its options', () => {
    const run = async (x: number[]) => x;
    expect(() => new MicroBatcher({ run, maxBatchItems: 0, maxWaitMs: 1 })).toThrow('MicroBatcher: maxBatchItems must be an integer >= 1, got 0');
    expect(() => new MicroBatcher({ run, maxBatchItems: 2, maxWaitMs: -1 })).toThrow('MicroBatcher: maxWaitMs must be a finite number >= 0, got -1');
  });
});
