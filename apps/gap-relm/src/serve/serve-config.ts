import { DEFAULT_HTTP_SERVER_CONFIG, type HttpServerConfig } from '@proj/core';

/** The server's settings; each is a flag of `gap-relm serve` (the same name in kebab case). */
export interface ServeConfig extends HttpServerConfig {
  maxBatchTexts: number;
  maxWaitMs: number;
  maxBatchChars: number;
  maxTexts: number;
  maxChars: number;
}

export const DEFAULT_SERVE_CONFIG: Readonly<ServeConfig> = Object.freeze({
  ...DEFAULT_HTTP_SERVER_CONFIG, // host, port, body limit, timeouts, connection cap (@proj/core)
  maxBatchTexts: 32, // texts per model call, from any number of requests; 1 turns micro-batching off
  maxWaitMs: 5, // how long the oldest queued text waits for company before its batch runs
  maxBatchChars: 4096, // characters per model call: long texts go in smaller batches, so a batch's time stays bounded
  maxTexts: 64, // texts per request (422)
  maxChars: 512, // code points per text (422)
});
