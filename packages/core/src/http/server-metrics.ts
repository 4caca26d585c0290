import { LatencyStats, type LatencySummary } from '../latency-stats';
import type { MicroBatcherStats } from '../micro-batcher';

/** A latency summary in `/metrics`: percentiles of the last 4,096 samples, and the sum of all. */
export type LatencyMetric = LatencySummary & { sum: number };

/** What an app's `/metrics` holds beyond the shared fields, and how Prometheus names it. */
export interface MetricsSpec<C extends string = string, L extends string = string> {
  /** Prometheus metric names start with `<prefix>_` (`gap_relm`). */
  prefix: string;
  /** What one batch item is, capitalized, for help texts (`Texts`: "Texts per model call."). */
  item: string;
  /** What the server does with a request, for the in-flight help text (`corrected`). */
  work: string;
  /** Counters (JSON key → Prometheus name without prefix, e.g. `texts_corrected_total`, and help). */
  counters: Record<C, { name: string; help: string }>;
  /** Latency summaries in milliseconds (JSON key → Prometheus name and help, which the window is appended to). */
  latencies: Record<L, { name: string; help: string }>;
}

/** The JSON of `GET /metrics`: the shared fields, the app's counters and latency summaries. */
export type MetricsSnapshot<C extends string = string, L extends string = string> = {
  uptimeSeconds: number;
  /** Answered requests (all paths): total and by HTTP status; "aborted" = the client left first. */
  requests: { total: number; byStatus: Record<string, number> };
  /** Requests being read, queued, worked on or written. */
  inFlight: number;
} & Record<C, number> & {
  /** Model calls: how many, mean items per call, calls by size (`{"3": 5}`: five calls of 3 items), failed calls. */
  batches: { count: number; meanSize: number; sizeHistogram: Record<string, number>; failed: number };
  /** Items waiting for a model call. */
  queueDepth: number;
} & Record<L, LatencyMetric>;

/** Counters a server keeps; batch counts come from its MicroBatcher. */
export class ServerMetrics<C extends string = string, L extends string = string> {
  private readonly started = performance.now();
  private readonly byStatus = new Map<string, number>();
  private total = 0;
  private readonly counts = new Map<C, number>();
  private readonly latency = new Map<L, { stats: LatencyStats; sum: number }>();

  constructor(readonly spec: MetricsSpec<C, L>) {
    for (const key of Object.keys(spec.counters) as C[]) this.counts.set(key, 0);
    for (const key of Object.keys(spec.latencies) as L[]) this.latency.set(key, { stats: new LatencyStats(4096), sum: 0 });
  }

  /** Adds `n` to a counter. */
  add(counter: C, n = 1): void {
    this.counts.set(counter, (this.counts.get(counter) ?? 0) + n);
  }

  /** One sample (ms) of a latency summary. */
  record(latency: L, ms: number): void {
    const l = this.latency.get(latency)!;
    l.stats.record(ms);
    l.sum += ms;
  }

  countAnswer(status: number | 'aborted'): void {
    this.total++;
    this.byStatus.set(String(status), (this.byStatus.get(String(status)) ?? 0) + 1);
  }

  snapshot(batches: MicroBatcherStats, queueDepth: number, inFlight: number): MetricsSnapshot<C, L> {
    const sizeHistogram: Record<string, number> = {};
    batches.sizeCounts.forEach((n, size) => {
      if (n > 0) sizeHistogram[size] = n;
    });
    return {
      uptimeSeconds: Math.round(performance.now() - this.started) / 1000,
      requests: { total: this.total, byStatus: Object.fromEntries([...this.byStatus].sort(([a], [b]) => a.localeCompare(b))) },
      inFlight,
      ...Object.fromEntries(this.counts),
      batches: { count: batches.batches, meanSize: batches.batches === 0 ? 0 : batches.items / batches.batches, sizeHistogram, failed: batches.failedBatches },
      queueDepth,
      ...Object.fromEntries([...this.latency].map(([key, l]) => [key, { ...l.stats.summary(), sum: l.sum }])),
    } as MetricsSnapshot<C, L>;
  }
}

/** Bucket bounds of the batch-size histogram: powers of two up to the largest batch. */
function sizeBuckets(largest: number): number[] {
  const bounds = [1];
  while (bounds[bounds.length - 1] < largest) bounds.push(bounds[bounds.length - 1] * 2);
  return bounds;
}

/**
 * The snapshot in Prometheus' text exposition format (0.0.4), for `GET /metrics` with an
 * `Accept` header that asks for text/plain or OpenMetrics (as Prometheus scrapers send).
 * Latencies are summaries over the same window as the JSON percentiles; batch sizes a histogram.
 */
export function prometheusText<C extends string, L extends string>(s: MetricsSnapshot<C, L>, spec: MetricsSpec<C, L>): string {
  const { prefix } = spec;
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${prefix}_${name} ${help}`, `# TYPE ${prefix}_${name} ${type}`);
    for (const [suffix, value] of samples) lines.push(`${prefix}_${name}${suffix} ${value}`);
  };
  metric('uptime_seconds', 'gauge', 'Seconds since the server started.', [['', s.uptimeSeconds]]);
  metric('requests_total', 'counter', 'Answered HTTP requests by status (aborted: the client left first).', Object.entries(s.requests.byStatus).map(([status, n]) => [`{status="${status}"}`, n]));
  metric('requests_in_flight', 'gauge', `Requests being read, queued, ${spec.work} or written.`, [['', s.inFlight]]);
  for (const [key, c] of Object.entries(spec.counters) as [C, { name: string; help: string }][]) metric(c.name, 'counter', c.help, [['', s[key] as number]]);
  metric('queue_depth', 'gauge', `${spec.item} waiting for a model call.`, [['', s.queueDepth]]);
  metric('batch_failures_total', 'counter', 'Model calls that failed.', [['', s.batches.failed]]);
  const sizes = Object.entries(s.batches.sizeHistogram).map(([size, n]) => [Number(size), n] as const);
  const buckets = sizeBuckets(Math.max(1, ...sizes.map(([size]) => size)));
  metric('batch_size', 'histogram', `${spec.item} per model call.`, [
    ...buckets.map((le): [string, number] => [`_bucket{le="${le}"}`, sizes.filter(([size]) => size <= le).reduce((t, [, n]) => t + n, 0)]),
    ['_bucket{le="+Inf"}', s.batches.count],
    ['_sum', sizes.reduce((t, [size, n]) => t + size * n, 0)],
    ['_count', s.batches.count],
  ]);
  for (const [key, l] of Object.entries(spec.latencies) as [L, { name: string; help: string }][]) {
    const q = s[key] as LatencyMetric;
    metric(l.name, 'summary', `${l.help} (quantiles over the last ${q.window} of them).`, [
      ...(q.p50 === null ? [] : ([['{quantile="0.5"}', q.p50], ['{quantile="0.9"}', q.p90 as number], ['{quantile="0.99"}', q.p99 as number]] as [string, number][])),
      ['_sum', q.sum],
      ['_count', q.count],
    ]);
  }
  return `${lines.join('\n')}\n`;
}
