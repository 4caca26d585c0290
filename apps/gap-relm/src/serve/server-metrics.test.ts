import { describe, expect, it } from 'vitest';
import { type MetricsSnapshot, prometheusText } from '@proj/core';
import { GAP_RELM_METRICS } from './server';

const SNAPSHOT: MetricsSnapshot<'textsCorrected', 'latencyMs'> = {
  uptimeSeconds: 2.5,
  requests: { total: 7, byStatus: { '200': 5, '400': 1, aborted: 1 } },
  inFlight: 1,
  textsCorrected: 12,
  batches: { count: 4, meanSize: 3, sizeHistogram: { '1': 1, '3': 2, '5': 1 }, failed: 0 },
  queueDepth: 2,
  latencyMs: { count: 5, window: 5, p50: 10, p90: 20, p99: 30, max: 30, sum: 75 },
};

describe('prometheusText', () => {
  it('writes the text exposition format: counters, gauges, a cumulative batch-size histogram and a latency summary', () => {
    expect(prometheusText(SNAPSHOT, GAP_RELM_METRICS).split('\n')).toEqual([
      '# HELP gap_relm_uptime_seconds Seconds since the server started.',
      '# TYPE gap_relm_uptime_seconds gauge',
      'gap_relm_uptime_seconds 2.5',
      '# HELP gap_relm_requests_total Answered HTTP requests by status (aborted: the client left first).',
      '# TYPE gap_relm_requests_total counter',
      'gap_relm_requests_total{status="200"} 5',
      'gap_relm_requests_total{status="400"} 1',
      'gap_relm_requests_total{status="aborted"} 1',
      '# HELP gap_relm_requests_in_flight Requests being read, queued, corrected or written.',
      '# TYPE gap_relm_requests_in_flight gauge',
      'gap_relm_requests_in_flight 1',
      '# HELP gap_relm_texts_corrected_total Texts in 200 answers of /v1/correct.',
      '# TYPE gap_relm_texts_corrected_total counter',
      'gap_relm_texts_corrected_total 12',
      '# HELP gap_relm_queue_depth Texts waiting for a model call.',
      '# TYPE gap_relm_queue_depth gauge',
      'gap_relm_queue_depth 2',
      '# HELP gap_relm_batch_failures_total Model calls that failed.',
      '# TYPE gap_relm_batch_failures_total counter',
      'gap_relm_batch_failures_total 0',
      '# HELP gap_relm_batch_size Texts per model call.',
      '# TYPE gap_relm_batch_size histogram',
      'gap_relm_batch_size_bucket{le="1"} 1',
      'gap_relm_batch_size_bucket{le="2"} 1',
      'gap_relm_batch_size_bucket{le="4"} 3',
      'gap_relm_batch_size_bucket{le="8"} 4',
      'gap_relm_batch_size_bucket{le="+Inf"} 4',
      'gap_relm_batch_size_sum 12',
      'gap_relm_batch_size_count 4',
      '# HELP gap_relm_request_latency_ms Milliseconds from request to answer of 200 /v1/correct answers (quantiles over the last 5 of them).',
      '# TYPE gap_relm_request_latency_ms summary',
      'gap_relm_request_latency_ms{quantile="0.5"} 10',
      'gap_relm_request_latency_ms{quantile="0.9"} 20',
      'gap_relm_request_latency_ms{quantile="0.99"} 30',
      'gap_relm_request_latency_ms_sum 75',
      'gap_relm_request_latency_ms_count 5',
      '',
    ]);
  });

  it('before the first request: no quantiles, empty histogram', () => {
    const empty: MetricsSnapshot<'textsCorrected', 'latencyMs'> = { ...SNAPSHOT, requests: { total: 0, byStatus: {} }, batches: { count: 0, meanSize: 0, sizeHistogram: {}, failed: 0 }, latencyMs: { count: 0, window: 0, p50: null, p90: null, p99: null, max: null, sum: 0 } };
    const text = prometheusText(empty, GAP_RELM_METRICS);
    expect(text).not.toMatch(/\{quantile=/);
    expect(text).toContain('gap_relm_batch_size_bucket{le="1"} 0\ngap_relm_batch_size_bucket{le="+Inf"} 0\n');
    expect(text).toContain('gap_relm_request_latency_ms_count 0\n');
  });
});
