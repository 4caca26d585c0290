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
  /** Milliseconds from request to answer of 200 /v1/correct requests (the last 4,096). */
  latencyMs: LatencySummary;
}

/** Counters the server keeps; batch counts come from its MicroBatcher. */
export class ServerMetrics {
  private readonly started = performance.now();
  private readonly byStatus = new Map<string, number>();
  private total = 0;
  textsCorrected = 0;
  readonly latency = new LatencyStats(4096);

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
      latencyMs: this.latency.summary(),
    };
  }
}
