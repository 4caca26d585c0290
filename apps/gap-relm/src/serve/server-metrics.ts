import { LatencyStats, type LatencySummary, type MicroBatcherStats } from '@proj/core';

/** The JSON of `GET /metrics`. */
export interface MetricsSnapshot {
  uptimeSeconds: number;
  /** Answered requests (all paths): total and by HTTP status; "aborted" = the client left first. */
  requests: { total: number; byStatus: Record<string, number> };
  /** Requests being read, queued, corrected or written. */
  inFlight: number;
  /** Texts in 200 answers of /v1/correct. */
  textsCorrected: number;
  /** Model calls: how many, mean texts per call, calls by size (`{"3": 5}`: five calls of 3 texts), failed calls. */
  batches: { count: number; meanSize: number; sizeHistogram: Record<string, number>; failed: number };
  /** Texts waiting for a model call. */
  queueDepth: number;
  /** Milliseconds from request to answer of 200 /v1/correct requests: percentiles of the last 4,096, and the sum of all. */
  latencyMs: LatencySummary & { sum: number };
}

/** Counters the server keeps; batch counts come from its MicroBatcher. */
export class ServerMetrics {
  private readonly started = performance.now();
  private readonly byStatus = new Map<string, number>();
  private total = 0;
  textsCorrected = 0;
  private readonly latency = new LatencyStats(4096);
  private latencySum = 0;

  /** A 200 answer of /v1/correct took `ms`. */
  recordLatency(ms: number): void {
    this.latency.record(ms);
    this.latencySum += ms;
  }

  countAnswer(status: number | 'aborted'): void {
    this.total++;
    this.byStatus.set(String(status), (this.byStatus.get(String(status)) ?? 0) + 1);
  }

  snapshot(batches: MicroBatcherStats, queueDepth: number, inFlight: number): MetricsSnapshot {
    const sizeHistogram: Record<string, number> = {};
    batches.sizeCounts.forEach((n, size) => {
      if (n > 0) sizeHistogram[size] = n;
    });
    return {
      uptimeSeconds: Math.round(performance.now() - this.started) / 1000,
      requests: { total: this.total, byStatus: Object.fromEntries([...this.byStatus].sort(([a], [b]) => a.localeCompare(b))) },
      inFlight,
      textsCorrected: this.textsCorrected,
      batches: { count: batches.batches, meanSize: batches.batches === 0 ? 0 : batches.items / batches.batches, sizeHistogram, failed: batches.failedBatches },
      queueDepth,
      latencyMs: { ...this.latency.summary(), sum: this.latencySum },
    };
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
 * Latency is a summary over the same window as the JSON percentiles; batch sizes a histogram.
 */
export function prometheusText(s: MetricsSnapshot, prefix = 'gap_relm'): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${prefix}_${name} ${help}`, `# TYPE ${prefix}_${name} ${type}`);
    for (const [suffix, value] of samples) lines.push(`${prefix}_${name}${suffix} ${value}`);
  };
  metric('uptime_seconds', 'gauge', 'Seconds since the server started.', [['', s.uptimeSeconds]]);
  metric('requests_total', 'counter', 'Answered HTTP requests by status (aborted: the client left first).', Object.entries(s.requests.byStatus).map(([status, n]) => [`{status="${status}"}`, n]));
  metric('requests_in_flight', 'gauge', 'Requests being read, queued, corrected or written.', [['', s.inFlight]]);
  metric('texts_corrected_total', 'counter', 'Texts in 200 answers of /v1/correct.', [['', s.textsCorrected]]);
  metric('queue_depth', 'gauge', 'Texts waiting for a model call.', [['', s.queueDepth]]);
  metric('batch_failures_total', 'counter', 'Model calls that failed.', [['', s.batches.failed]]);
  const sizes = Object.entries(s.batches.sizeHistogram).map(([size, n]) => [Number(size), n] as const);
  const buckets = sizeBuckets(Math.max(1, ...sizes.map(([size]) => size)));
  metric('batch_size', 'histogram', 'Texts per model call.', [
    ...buckets.map((le): [string, number] => [`_bucket{le="${le}"}`, sizes.filter(([size]) => size <= le).reduce((t, [, n]) => t + n, 0)]),
    ['_bucket{le="+Inf"}', s.batches.count],
    ['_sum', sizes.reduce((t, [size, n]) => t + size * n, 0)],
    ['_count', s.batches.count],
  ]);
  const q = s.latencyMs;
  metric('request_latency_ms', 'summary', `Milliseconds from request to answer of 200 /v1/correct answers (quantiles over the last ${q.window} of them).`, [
    ...(q.p50 === null ? [] : ([['{quantile="0.5"}', q.p50], ['{quantile="0.9"}', q.p90 as number], ['{quantile="0.99"}', q.p99 as number]] as [string, number][])),
    ['_sum', q.sum],
    ['_count', q.count],
  ]);
  return `${lines.join('\n')}\n`;
}
