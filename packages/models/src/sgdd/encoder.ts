import * as ort from 'onnxruntime-node';
import type { BertModel } from '../bert/model';
import { loadBertCheckpoint } from '../bert/weights';
import { sentenceEncoderToOnnx } from '../onnx/export';
import { createOnnxSession, type OnnxSessionOptions } from '../onnx-runtime/session';
import { float32Output, int64 } from '../onnx-runtime/tensors';

/**
 * SGDD's frozen semantic encoder on onnxruntime: a BERT encoder recorded with mean pooling
 * (`recordSentenceEncoder`) and run once per sentence, so the vectors can be cached with the data.
 * Takes token ids ([CLS] ... [SEP], the same ids the decoder learns to produce).
 */
export class SentenceEncoder {
  private constructor(
    readonly session: ort.InferenceSession,
    /** Width of the vectors (the encoder's hidden size). */
    readonly size: number,
    readonly padId: number,
    /** The ONNX bytes (the `export` command ships them). */
    readonly onnx: Uint8Array,
  ) {}

  /** From a BERT model in memory (the tiny fixtures, a loaded checkpoint). */
  static async fromModel(encoder: BertModel, options: OnnxSessionOptions & { padId?: number } = {}): Promise<SentenceEncoder> {
    const onnx = await sentenceEncoderToOnnx(encoder);
    const { session } = await createOnnxSession(onnx, { executionProviders: ['cpu'], ...options });
    return new SentenceEncoder(session, encoder.config.hiddenSize, options.padId ?? 0, onnx);
  }

  /** From a Hugging Face BERT directory (`resolvePretrained` turns names and ONNX exports into one). */
  static async fromDirectory(dir: string, options: OnnxSessionOptions & { padId?: number } = {}): Promise<SentenceEncoder> {
    const { model } = await loadBertCheckpoint(dir);
    const bert = 'bert' in model ? model.bert : model;
    try {
      return await SentenceEncoder.fromModel(bert, options);
    } finally {
      model.dispose();
    }
  }

  /** One vector per row, in `batchSize` groups padded to their longest row. */
  async encode(rows: readonly ArrayLike<number>[], batchSize = 32): Promise<Float32Array[]> {
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`SentenceEncoder.encode: batchSize must be an integer >= 1, got ${batchSize}`);
    const out: Float32Array[] = [];
    for (let start = 0; start < rows.length; start += batchSize) {
      const group = rows.slice(start, start + batchSize);
      const [B, L] = [group.length, Math.max(1, ...group.map((r) => r.length))];
      const ids = new Int32Array(B * L).fill(this.padId);
      const mask = new Int32Array(B * L);
      group.forEach((r, b) => {
        ids.set(Array.from(r), b * L);
        mask.fill(1, b * L, b * L + r.length);
      });
      const result = await this.session.run({ input_ids: int64(ids, [B, L]), attention_mask: int64(mask, [B, L]), token_type_ids: int64(new Int32Array(B * L), [B, L]) });
      const { data } = float32Output(result, 'sentence_embedding', 'SentenceEncoder.encode');
      for (let b = 0; b < B; b++) out.push(data.slice(b * this.size, (b + 1) * this.size));
    }
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
