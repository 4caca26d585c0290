/** How a `MicroBatcher` groups work. */
export interface MicroBatcherOptions<In, Out> {
  /**
   * Runs one batch and returns one output per input, in input order. Never called while a previous
   * call is still pending: the work behind it (a model on the CPU) is assumed not reentrant.
   */
  run: (batch: In[]) => Promise<Out[]>;
  /** Most items in one `run` call; a larger submit is split across calls. */
  maxBatchItems: number;
  /** How long the oldest queued item waits for company before its batch runs (when `run` is free). */
  maxWaitMs: number;
  /**
   * Most work in one `run` call, as the sum of `cost(item)` (e.g. characters), so a batch of long
   * items does not take many times longer than one of short items. A batch always takes at least
   * one item. Default: no limit (1 per item with no `cost`).
   */
  maxBatchCost?: number;
  /** The work of one item (default 1). */
  cost?: (item: In) => number;
  /**
   * Round-robin across submits (default true). false takes items first in, first out: a large
   * submit holds up everything queued behind it (the behaviour before; a benchmark baseline).
   */
  fair?: boolean;
}

/** Counters since the batcher was made. */
export interface MicroBatcherStats {
  /** `run` calls, including failed ones. */
  batches: number;
  /** Items passed to `run`. */
  items: number;
  /** `run` calls that threw, rejected or returned the wrong number of outputs. */
  failedBatches: number;
  /** `sizeCounts[n]` = batches of n items (index 0 is always 0). */
  sizeCounts: number[];
}

interface Submission<Out> {
  outputs: Out[];
  /** Items not yet returned by a batch. */
  pending: number;
  settled: boolean;
  /** The last batch that took one of its items (-1: none yet), so the next batch starts with the submits waiting longest. */
  lastServed: number;
  resolve: (outputs: Out[]) => void;
  reject: (error: unknown) => void;
}

interface Queued<In, Out> {
  item: In;
  /** Where its output goes in the submission's result. */
  index: number;
  submission: Submission<Out>;
  /** `performance.now()` when it was queued. */
  queuedAt: number;
}

/**
 * Dynamic micro-batching: items from concurrent `submit` calls are gathered into one `run` call,
 * for up to `maxWaitMs` after the oldest queued item or until `maxBatchItems` (or `maxBatchCost`)
 * are queued, one batch at a time. A batch takes items round-robin across the queued submits, so
 * a large submit is spread over several batches and a small one queued behind it rides in the
 * next batch instead of waiting for all of it. Items queued while a batch runs have already waited, so they go as soon as the
 * runner is free if their wait is over. A failing batch rejects only the submits that had items in
 * it (their items still queued are dropped, as their result can no longer be used); later batches
 * run as usual.
 */
export class MicroBatcher<In, Out> {
  private readonly run: (batch: In[]) => Promise<Out[]>;
  readonly maxBatchItems: number;
  readonly maxWaitMs: number;
  readonly maxBatchCost: number;
  private readonly cost: (item: In) => number;
  private readonly fair: boolean;
  private queue: Queued<In, Out>[] = [];
  private running = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private drainWaiters: (() => void)[] = [];
  private readonly counters: MicroBatcherStats = { batches: 0, items: 0, failedBatches: 0, sizeCounts: [] };

  constructor(options: MicroBatcherOptions<In, Out>) {
    if (typeof options.run !== 'function') throw new TypeError('MicroBatcher: run must be a function');
    if (!(Number.isInteger(options.maxBatchItems) && options.maxBatchItems >= 1)) {
      throw new RangeError(`MicroBatcher: maxBatchItems must be an integer >= 1, got ${options.maxBatchItems}`);
    }
    if (!(Number.isFinite(options.maxWaitMs) && options.maxWaitMs >= 0)) {
      throw new RangeError(`MicroBatcher: maxWaitMs must be a finite number >= 0, got ${options.maxWaitMs}`);
    }
    if (options.maxBatchCost !== undefined && !(options.maxBatchCost > 0)) {
      throw new RangeError(`MicroBatcher: maxBatchCost must be a number > 0, got ${options.maxBatchCost}`);
    }
    this.run = options.run;
    this.maxBatchCost = options.maxBatchCost ?? Infinity;
    this.cost = options.cost ?? (() => 1);
    this.fair = options.fair ?? true;
    this.maxBatchItems = options.maxBatchItems;
    this.maxWaitMs = options.maxWaitMs;
    this.counters.sizeCounts = new Array<number>(options.maxBatchItems + 1).fill(0);
  }

  /** Queues `items`; resolves with their outputs in order once every batch holding one has run. */
  submit(items: readonly In[]): Promise<Out[]> {
    if (this.closed) return Promise.reject(new Error('MicroBatcher.submit: the batcher is closed and accepts no new work'));
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<Out[]>((resolve, reject) => {
      const submission: Submission<Out> = { outputs: new Array<Out>(items.length), pending: items.length, settled: false, lastServed: -1, resolve, reject };
      const queuedAt = performance.now();
      items.forEach((item, index) => this.queue.push({ item, index, submission, queuedAt }));
      this.schedule();
    });
  }

  /** Items waiting for a batch (not counting the batch that runs). */
  get queueDepth(): number {
    return this.queue.length;
  }

  /** True while a `run` call is pending. */
  get busy(): boolean {
    return this.running;
  }

  /** A copy of the counters. */
  stats(): MicroBatcherStats {
    return { ...this.counters, sizeCounts: this.counters.sizeCounts.slice() };
  }

  /** Resolves once the queue is empty and no batch runs. */
  drain(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Refuses new submits from now on; resolves when the work already queued has run. */
  close(): Promise<void> {
    this.closed = true;
    return this.drain();
  }

  private idle(): boolean {
    return !this.running && this.queue.length === 0;
  }

  /** Starts the next batch if the runner is free and the batch is full or its wait is over; else sets the timer. */
  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const waited = performance.now() - this.queue[0].queuedAt;
    if (this.queue.length >= this.maxBatchItems || waited >= this.maxWaitMs || this.queuedCost() >= this.maxBatchCost) {
      if (this.timer !== undefined) clearTimeout(this.timer);
      this.timer = undefined;
      void this.runNext();
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, this.maxWaitMs - waited);
    }
  }

  private queuedCost(): number {
    if (this.maxBatchCost === Infinity) return 0;
    let total = 0;
    for (const q of this.queue) if ((total += this.cost(q.item)) >= this.maxBatchCost) break;
    return total;
  }

  /**
   * The next batch: round-robin over the queued submits, least recently served first (then oldest
   * first), within the item and cost limits, so a submit is served within as many batches as
   * there are submits even when one batch holds a single item.
   */
  private take(): Queued<In, Out>[] {
    const bySubmission = new Map<Submission<Out>, Queued<In, Out>[]>();
    for (const q of this.queue) {
      const items = bySubmission.get(q.submission);
      if (items === undefined) bySubmission.set(q.submission, [q]);
      else items.push(q);
    }
    // A stable sort keeps arrival order among submits served equally recently.
    const groups = this.fair ? [...bySubmission.values()].sort((a, b) => a[0].submission.lastServed - b[0].submission.lastServed) : [this.queue.slice()];
    const taken: Queued<In, Out>[] = [];
    let cost = 0;
    fill: for (let round = 0; ; round++) {
      let any = false;
      for (const group of groups) {
        if (round >= group.length) continue;
        any = true;
        const c = this.cost(group[round].item);
        if (taken.length >= this.maxBatchItems || (taken.length > 0 && cost + c > this.maxBatchCost)) break fill;
        taken.push(group[round]);
        cost += c;
      }
      if (!any) break;
    }
    const chosen = new Set(taken);
    this.queue = this.queue.filter((q) => !chosen.has(q));
    for (const q of taken) q.submission.lastServed = this.counters.batches;
    return taken;
  }

  private async runNext(): Promise<void> {
    const taken = this.take();
    this.running = true;
    let outputs: Out[] | undefined;
    let error: unknown;
    try {
      outputs = await this.run(taken.map((q) => q.item));
      if (!Array.isArray(outputs) || outputs.length !== taken.length) {
        throw new Error(`MicroBatcher: run returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} outputs for a batch of ${taken.length}`);
      }
    } catch (caught) {
      error = caught ?? new Error('MicroBatcher: run failed');
    }
    this.running = false;
    this.counters.batches++;
    this.counters.items += taken.length;
    this.counters.sizeCounts[taken.length]++;
    if (error === undefined) this.deliver(taken, outputs as Out[]);
    else this.fail(taken, error);
    this.schedule();
    if (this.idle()) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private deliver(taken: Queued<In, Out>[], outputs: Out[]): void {
    taken.forEach(({ index, submission }, i) => {
      submission.outputs[index] = outputs[i];
      submission.pending--;
      if (submission.pending === 0 && !submission.settled) {
        submission.settled = true;
        submission.resolve(submission.outputs);
      }
    });
  }

  private fail(taken: Queued<In, Out>[], error: unknown): void {
    this.counters.failedBatches++;
    const failed = new Set(taken.map((q) => q.submission));
    for (const submission of failed) {
      submission.settled = true;
      submission.reject(error);
    }
    this.queue = this.queue.filter((q) => !failed.has(q.submission));
  }
}
