/** The server's settings; each is a flag of `gap-relm serve` (the same name in kebab case). */
export interface ServeConfig {
  host: string;
  port: number;
  maxBatchTexts: number;
  maxWaitMs: number;
  maxBodyBytes: number;
  maxTexts: number;
  maxChars: number;
  shutdownGraceMs: number;
}

export const DEFAULT_SERVE_CONFIG: Readonly<ServeConfig> = Object.freeze({
  host: '127.0.0.1', // loopback only; 0.0.0.0 serves other machines
  port: 8080, // 0 = any free port (the one chosen is printed)
  maxBatchTexts: 32, // texts per model call, from any number of requests; 1 turns micro-batching off
  maxWaitMs: 5, // how long the oldest queued text waits for company before its batch runs
  maxBodyBytes: 1024 * 1024, // request body; reading stops at the limit (413)
  maxTexts: 64, // texts per request (422)
  maxChars: 512, // code points per text (422)
  shutdownGraceMs: 10_000, // on shutdown, requests and connections still open this long after it began are cut
});
