/** The server's settings; each is a flag of `gap-relm serve` (the same name in kebab case). */
export interface ServeConfig {
  host: string;
  port: number;
  maxBatchTexts: number;
  maxWaitMs: number;
  maxBatchChars: number;
  maxBodyBytes: number;
  maxTexts: number;
  maxChars: number;
  shutdownGraceMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_SERVE_CONFIG: Readonly<ServeConfig> = Object.freeze({
  host: '127.0.0.1', // loopback only; 0.0.0.0 serves other machines
  port: 8080, // 0 = any free port (the one chosen is printed)
  maxBatchTexts: 32, // texts per model call, from any number of requests; 1 turns micro-batching off
  maxWaitMs: 5, // how long the oldest queued text waits for company before its batch runs
  maxBatchChars: 4096, // characters per model call: long texts go in smaller batches, so a batch's time stays bounded
  maxBodyBytes: 1024 * 1024, // request body; reading stops at the limit (413)
  maxTexts: 64, // texts per request (422)
  maxChars: 512, // code points per text (422)
  shutdownGraceMs: 10_000, // on shutdown, requests and connections still open this long after it began are cut
  headersTimeoutMs: 10_000, // a client must send its request headers within this (slow clients; Node's default is 60 s)
  requestTimeoutMs: 30_000, // and its whole request within this (Node's default is 300 s)
  keepAliveTimeoutMs: 5_000, // an idle kept-alive connection is closed after this
  maxConnections: 256, // connections open at once; more are refused at connect
});
