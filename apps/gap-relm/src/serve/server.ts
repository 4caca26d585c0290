import { MicroBatcher, logBatchFailures, submitToModel, ServerMetrics, startJsonServer, type JsonServer, type MetricsSpec } from '@proj/core';
import type { Correction, GapRelmDecodeConfig } from '@proj/sampling';
import type { CliIO } from '../cli-io';
import type { Corrector } from '../load-corrector';
import { parseCorrectRequest } from './parse-request';
import type { ServeConfig } from './serve-config';

export interface ServeOptions extends ServeConfig {
  /** Decoding settings of every batch (requests cannot override them). */
  decode: Partial<GapRelmDecodeConfig>;
  /** false: batches take texts first in, first out (no round-robin across requests); a benchmark baseline. */
  fairBatching?: boolean;
}

/** `/metrics` of gap-relm serve: texts corrected and the request latency of /v1/correct. */
export const GAP_RELM_METRICS = {
  prefix: 'gap_relm',
  item: 'Texts',
  work: 'corrected',
  counters: { textsCorrected: { name: 'texts_corrected_total', help: 'Texts in 200 answers of /v1/correct.' } },
  latencies: { latencyMs: { name: 'request_latency_ms', help: 'Milliseconds from request to answer of 200 /v1/correct answers' } },
} satisfies MetricsSpec<'textsCorrected', 'latencyMs'>;

/** A running server (see `JsonServer` of @proj/core). */
export type ServeHandle = JsonServer<'textsCorrected', 'latencyMs'>;

/** Only the documented fields, in a fixed order, whatever else a Correction may carry. */
function correctionJson(c: Correction) {
  return {
    source: c.source,
    corrected: c.corrected,
    edits: c.edits.map((e) => ({ position: e.position, from: e.from, to: e.to, kind: e.kind, confidence: e.confidence })),
  };
}

/**
 * Serves `corrector` over HTTP/JSON until `close()`: POST /v1/correct, GET /healthz, GET /metrics
 * (see docs/serving.md). The texts of concurrent requests share model calls through a
 * MicroBatcher. Logs go to `io.stderr`; once listening it logs `serve: listening on <url>`.
 */
export async function startServer(corrector: Corrector, options: ServeOptions, io: CliIO): Promise<ServeHandle> {
  const metrics = new ServerMetrics(GAP_RELM_METRICS);
  const batcher = new MicroBatcher<string, Correction>({
    maxBatchItems: options.maxBatchTexts,
    maxWaitMs: options.maxWaitMs,
    // Per-batch work is bounded, and batches take texts round-robin across requests: a request of
    // many long texts is spread over batches instead of holding up the small ones queued behind it.
    maxBatchCost: options.maxBatchChars,
    cost: (text) => Math.max(1, text.length),
    fair: options.fairBatching ?? true,
    run: logBatchFailures(io, 'texts', (texts) => corrector.correct(texts, options.decode)),
  });
  return startJsonServer(
    {
      ...options,
      routes: {
        '/v1/correct': {
          method: 'POST',
          latency: 'latencyMs',
          async handle(_req, _res, ctx) {
            const texts = parseCorrectRequest(await ctx.body(), options);
            const results = await submitToModel(batcher, texts, 'texts');
            metrics.add('textsCorrected', texts.length);
            ctx.send(200, { results: results.map(correctionJson) });
          },
        },
      },
      health: () => ({ ...corrector.info }),
      metrics,
      batcher,
      release: () => corrector.release(),
    },
    io,
  );
}
