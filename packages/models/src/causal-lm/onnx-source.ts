import * as ort from 'onnxruntime-node';
import type { CausalBatch, CausalLogits, CausalLogitsSource } from '@proj/sampling';
import { createOnnxSession, type OnnxSessionOptions } from '../onnx-runtime/session';
import type { QuantizeReport } from '../onnx/quantize';
import { float32Output, int64 } from '../onnx-runtime/tensors';
import type { CausalLmConfig } from './config';

/** What one call hands to the next: the slots' mask, each row's last position, the present keys / values. */
interface OnnxKvCache {
  mask: number[][];
  lastPosition: number[];
  past: Record<string, ort.Tensor>;
}

/**
 * A causal LM exported with past keys / values (`causalLmToOnnx(model, { kvCache: true })`) on
 * onnxruntime, as the `CausalLogitsSource` of `generate` in @proj/sampling. The first call feeds
 * the prompts left-padded (mask 0 on the padding, positions counting real tokens from 0) with
 * empty past tensors; later calls feed one token per row with the previous call's `present.*` as
 * `past_key_values.*`, the mask grown by one slot and each row's position advanced by one. Ragged
 * prompts therefore keep the cache too.
 */
export class OnnxCausalLmSource implements CausalLogitsSource {
  readonly vocabSize: number;
  private readonly headDim: number;

  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly config: CausalLmConfig,
    /** Fills the left padding of shorter prompts (never attended). */
    private readonly padTokenId: number,
    /** The execution provider the session runs on (`cpu`, `cuda`). */
    readonly provider: string,
    /** onnxruntime intra-op threads. */
    readonly threads: number,
    /** What `options.int8` quantized; absent without it. */
    readonly quantized?: QuantizeReport,
  ) {
    this.vocabSize = config.vocab_size;
    this.headDim = config.hidden_size / config.num_attention_heads;
  }

  /** A session over an exported file or its bytes; `config` is the exported model's. */
  static async create(model: string | Uint8Array, config: CausalLmConfig, options: OnnxSessionOptions & { padTokenId?: number } = {}): Promise<OnnxCausalLmSource> {
    const { session, provider, intraOpNumThreads, quantized } = await createOnnxSession(model, options);
    const names = session.inputNames;
    for (const name of ['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key']) {
      if (!names.includes(name)) throw new RangeError(`OnnxCausalLmSource.create: the graph has no input '${name}' (inputs: ${names.join(', ')}); export it with causalLmToOnnx(model, { kvCache: true })`);
    }
    return new OnnxCausalLmSource(session, config, options.padTokenId ?? 0, provider, intraOpNumThreads, quantized);
  }

  /**
   * Logits at every position, [rows, length, vocab] row-major, of unpadded ids [rows × length]
   * (the first step with an empty past: positions 0..length-1, mask all ones), e.g. for held-out loss.
   */
  async logitsOf(ids: Int32Array, rows: number, length: number): Promise<Float32Array> {
    if (ids.length !== rows * length || length === 0) throw new RangeError(`OnnxCausalLmSource.logitsOf: ids has ${ids.length} entries, not rows ${rows} x length ${length} (> 0)`);
    const positions = new Int32Array(rows * length).map((_, k) => k % length);
    const out = await this.run(
      {
        input_ids: int64(ids, [rows, length]),
        attention_mask: int64(new Int32Array(rows * length).fill(1), [rows, length]),
        position_ids: int64(positions, [rows, length]),
        ...this.emptyPast(rows),
      },
      `OnnxCausalLmSource.logitsOf: ${rows} rows of ${length} positions`,
    );
    return float32Output(out, 'logits', 'OnnxCausalLmSource.logitsOf').data;
  }

  /**
   * One session run; a failure names the call and its size, and the usual cause: a graph exported
   * with a smaller maxLength than the positions asked for fails inside a broadcast.
   */
  private async run(feeds: Record<string, ort.Tensor>, what: string): Promise<ort.InferenceSession.OnnxValueMapType> {
    try {
      return await this.session.run(feeds);
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
      throw new RangeError(`${what} failed in onnxruntime; if the graph was exported with a smaller maxLength (mateconv export --max-length), re-export it or drop the file: ${reason}`);
    }
  }

  /** `past_key_values.*` of length 0, for a first step. */
  private emptyPast(rows: number): Record<string, ort.Tensor> {
    const past: Record<string, ort.Tensor> = {};
    const empty = new Float32Array(0);
    for (let i = 0; i < this.config.num_hidden_layers; i++) {
      for (const part of ['key', 'value']) past[`past_key_values.${i}.${part}`] = new ort.Tensor('float32', empty, [rows, this.config.num_key_value_heads, 0, this.headDim]);
    }
    return past;
  }

  async next(batch: CausalBatch): Promise<CausalLogits> {
    const { tokens } = batch;
    const rows = tokens.length;
    const cached = batch.cache as OnnxKvCache | undefined;
    let ids: Int32Array;
    let positions: Int32Array;
    let mask: number[][];
    let past: Record<string, ort.Tensor>;
    let length: number;
    if (cached === undefined) {
      // 1. First call: left-pad to the longest prompt; positions count the real tokens of each row.
      length = Math.max(...tokens.map((row) => row.length));
      if (tokens.some((row) => row.length === 0)) throw new RangeError('OnnxCausalLmSource.next: a prompt is empty');
      ids = new Int32Array(rows * length).fill(this.padTokenId);
      positions = new Int32Array(rows * length);
      mask = tokens.map((row, b) => {
        const pad = length - row.length;
        ids.set(row, b * length + pad);
        for (let j = pad; j < length; j++) positions[b * length + j] = j - pad;
        return Array.from({ length }, (_, j) => (j < pad ? 0 : 1));
      });
      past = this.emptyPast(rows);
    } else {
      // 2. Later calls: one new token per row, one more slot, the next position.
      length = 1;
      if (tokens.some((row) => row.length !== 1)) throw new RangeError('OnnxCausalLmSource.next: with a cache every row must hold exactly one new token');
      ids = Int32Array.from(tokens, (row) => row[0]);
      positions = Int32Array.from(cached.lastPosition, (p) => p + 1);
      mask = cached.mask.map((row) => [...row, 1]);
      past = cached.past;
    }
    const slots = mask[0].length;
    const out = await this.run(
      {
        input_ids: int64(ids, [rows, length]),
        attention_mask: int64(Int32Array.from(mask.flat()), [rows, slots]),
        position_ids: int64(positions, [rows, length]),
        ...past,
      },
      `OnnxCausalLmSource.next: ${rows} rows at ${slots} positions (cached + new)`,
    );
    const { data } = float32Output(out, 'logits', 'OnnxCausalLmSource.next');
    const vocab = this.vocabSize;
    const logits = new Float32Array(rows * vocab);
    for (let b = 0; b < rows; b++) logits.set(data.subarray(((b + 1) * length - 1) * vocab, (b + 1) * length * vocab), b * vocab);
    const present: Record<string, ort.Tensor> = {};
    for (let i = 0; i < this.config.num_hidden_layers; i++) {
      for (const part of ['key', 'value']) present[`past_key_values.${i}.${part}`] = out[`present.${i}.${part}`] as ort.Tensor;
    }
    const lastPosition = Array.from({ length: rows }, (_, b) => positions[(b + 1) * length - 1]);
    return { logits, cache: { mask, lastPosition, past: present } satisfies OnnxKvCache };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
