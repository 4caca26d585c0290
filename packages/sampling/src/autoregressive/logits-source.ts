/**
 * What a causal language model must implement for `generate`. Backends (tfjs, onnxruntime-node)
 * wrap their model in this; the loop sees plain arrays and a Float32Array only. The call is
 * batched and async because an onnxruntime session is async and a batch amortises the model call.
 *
 * The contract, for a batch of B rows over a vocabulary of V tokens:
 *
 * 1. **First call**: `cache` is undefined and `tokens[b]` is the whole prompt of row b (rows may
 *    have different lengths; an adapter pads and masks as its model needs).
 * 2. The result's `logits` is `B × V` row-major: row b scores the token that follows the last
 *    token of `tokens[b]`, i.e. the last position only.
 * 3. **With a cache**: if a result carries `cache` (anything but undefined), the next call gets
 *    that same value back as `cache` and `tokens[b]` holds only the one token appended to row b
 *    since that call (`[[t0], [t1], ...]`, always length 1 per row). The loop never reads or
 *    copies the cache; the source may mutate it or return a new one each call.
 * 4. **Without a cache**: if a result's `cache` is undefined, the next call gets `cache`
 *    undefined and `tokens[b]` is row b's full sequence again (prompt + every token appended).
 *    A source may change its mind per call.
 * 5. Rows that have stopped (EOS) stay in the batch so its shape and the cache stay aligned: they
 *    are fed `padTokenId` and their logits are ignored. Both modes describe the same sequences:
 *    the token lists of mode 4 are the concatenation of everything mode 3 would have sent.
 *
 * Sources should be deterministic (same sequences, same logits): `generate` then is too.
 */

/** One model call. */
export interface CausalBatch {
  /** Per row: the full sequence (no cache) or the single new token (with a cache). */
  tokens: readonly (readonly number[])[];
  /** The `cache` returned by the previous call, or undefined on the first call / without a cache. */
  cache?: unknown;
}

/** The model's answer for one call. */
export interface CausalLogits {
  /** `B × vocabSize` row-major: next-token logits after the last position of each row. */
  logits: Float32Array;
  /** Opaque state for the next call (e.g. a KV cache); undefined = re-send full sequences next time. */
  cache?: unknown;
}

export interface CausalLogitsSource {
  /** Logit columns per row; token ids are 0 … vocabSize - 1. */
  readonly vocabSize: number;
  next(batch: CausalBatch): Promise<CausalLogits>;
}
