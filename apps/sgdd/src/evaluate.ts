import { Progress, Rng } from '@proj/core';
import { corpusBleu, exactMatch, perplexity } from '@proj/metrics';
import { OnnxSgddDenoiser, SgddDenoiser, createOnnxSession, createSgddTask, sampleSgdd, sgddDecoderToOnnx, type BertTokenizer, type OnnxSession, type SgddModel } from '@proj/models';
import type { PreparedSplit } from './data';
import type { CliIO } from './cli-io';

/** Decoded text for people: WordPiece decoding puts spaces between CJK characters; they are dropped here. */
export function idsToText(tokenizer: BertTokenizer, ids: ArrayLike<number>): string {
  const CJK = '[\\u2e80-\\u9fff\\uf900-\\ufaff\\uff00-\\uffef\\u3000-\\u303f]';
  return tokenizer
    .decode(Array.from(ids), { skipSpecialTokens: true })
    .replace(new RegExp(`(?<=${CJK}) +| +(?=${CJK})`, 'g'), '')
    .trim();
}

export type Engine = 'onnx' | 'tfjs';

/** Decodes sentences from vectors: the tfjs model, or its exported decoder on onnxruntime. */
export interface Sampler {
  engine: Engine;
  sample(vectors: readonly Float32Array[], lengths: readonly number[], options: { steps: number; guidance: number; temperature: number; seed: number }): Promise<Int32Array[]>;
  release(): Promise<void>;
}

/** A sampler on `session` (the exported decoder; released with the sampler), or on tfjs when null. */
export function samplerOn(model: SgddModel, session: OnnxSession['session'] | null): Sampler {
  return {
    engine: session ? 'onnx' : 'tfjs',
    async sample(vectors, lengths, o) {
      const source = session ? new OnnxSgddDenoiser(session, model.config, vectors) : new SgddDenoiser(model, vectors);
      // One stream per row (derived from the seed and the row's index in the call): a row's sample does not depend on its batch.
      const rng = vectors.map((_, b) => Rng.derive(o.seed, b));
      const result = await sampleSgdd(source, lengths, { steps: o.steps, guidance: o.guidance, temperature: o.temperature, choiceTemperature: o.temperature > 0 ? 4.5 : 0, rng });
      return result.tokens;
    },
    async release() {
      await session?.release();
    },
  };
}

/** A sampler on `engine`; onnx exports the weights in memory (`openSampler` of ./engine also reads `sgdd export`'s file and says which runs). */
export async function createSampler(model: SgddModel, engine: Engine, threads?: number): Promise<Sampler> {
  const session = engine === 'onnx' ? (await createOnnxSession(await sgddDecoderToOnnx(model), { executionProviders: ['cpu'], intraOpNumThreads: threads })).session : null;
  return samplerOn(model, session);
}

export interface EvalOptions {
  phase: 'reconstruction' | 'paraphrase';
  /** Dev examples scored for the loss. */
  lossLimit: number;
  /** Dev examples decoded (exact match, BLEU); 0 = none. */
  samples: number;
  steps: number;
  guidance: number;
  temperature: number;
  seed: number;
  batchSize: number;
  /** The decoder engine, unless `sampler` is given. */
  engine: Engine;
  /** Decode with this sampler (its engine; the caller releases it) instead of one made here on `engine`. */
  sampler?: Sampler;
  progress: boolean;
  /** Examples printed in the summary. */
  show: number;
}

export interface EvalSummary {
  loss: number;
  /** The same dev noise with the null vector: the gap to `loss` is what the semantic vector is worth. */
  loss_unconditional: number;
  perplexity: number;
  loss_examples: number;
  decoded: number;
  exact_match: number | null;
  bleu_reference: number | null;
  bleu_source: number | null;
  /** The source copied as the prediction: the floor a paraphraser must beat on BLEU against the reference. */
  bleu_copy_source_vs_reference: number | null;
  sampling: { steps: number; guidance: number; temperature: number; engine: Engine; seconds: number; sentences_per_s: number };
  samples: { source: string; reference: string; prediction: string }[];
}

/**
 * Scores a model on a prepared dev split: masked-token loss (conditional, fixed noise) and its
 * perplexity; then decodes the first `samples` examples from their source vectors (length: the
 * source's) and reports exact match (token ids), BLEU against the reference and against the source
 * (sacreBLEU-compatible, Chinese tokenizer).
 */
export async function evaluateSgdd(model: SgddModel, tokenizer: BertTokenizer, dev: PreparedSplit, o: EvalOptions, io: CliIO): Promise<EvalSummary> {
  const n = Math.min(o.lossLimit, dev.records.length);
  const examples = { rows: dev.records.slice(0, n).map((r) => Int32Array.from(r.ids)), vectors: dev.vectors.slice(0, n) };
  const task = createSgddTask(model, { phase: o.phase, train: examples, dev: examples, devBatchSize: o.batchSize });
  const { loss, loss_unconditional } = (await task.evaluate!({ epoch: 0, step: 0 })) as { loss: number; loss_unconditional: number };

  const m = Math.min(o.samples, dev.records.length);
  const records = dev.records.slice(0, m);
  const predictions: Int32Array[] = [];
  const sampler = o.sampler ?? (await createSampler(model, o.engine));
  const progress = new Progress({ label: `decode (${sampler.engine})`, total: m, unit: 'sent', stream: io.stderr, enabled: o.progress });
  const started = performance.now();
  try {
    for (let i = 0; i < m; i += o.batchSize) {
      const batch = records.slice(i, i + o.batchSize);
      const lengths = batch.map((r) => (r.source === r.target ? r.ids.length : Math.min(model.config.max_length, tokenizer.encode(r.source).input_ids.length)));
      predictions.push(...(await sampler.sample(dev.vectors.slice(i, i + batch.length), lengths, { ...o, seed: o.seed + i })));
      progress.tick(batch.length);
    }
  } finally {
    progress.finish();
    if (o.sampler === undefined) await sampler.release();
  }
  const seconds = (performance.now() - started) / 1000;
  const refText = records.map((r) => idsToText(tokenizer, r.ids));
  const predText = predictions.map((p) => idsToText(tokenizer, p));
  const srcText = records.map((r) => r.source);
  const bleu = (hyp: string[], refs: string[]) => (m ? corpusBleu(hyp, refs.map((r) => [r]), { tokenize: 'zh' }).score : null);
  return {
    loss,
    loss_unconditional,
    perplexity: perplexity(loss * n, n),
    loss_examples: n,
    decoded: m,
    exact_match: m ? exactMatch(predictions.map((p) => p.join(' ')), records.map((r) => r.ids.join(' '))) : null,
    bleu_reference: bleu(predText, refText),
    bleu_source: bleu(predText, srcText),
    bleu_copy_source_vs_reference: o.phase === 'paraphrase' ? bleu(srcText, refText) : null,
    sampling: { steps: o.steps, guidance: o.guidance, temperature: o.temperature, engine: sampler.engine, seconds: Number(seconds.toFixed(2)), sentences_per_s: Number((m / Math.max(seconds, 1e-9)).toFixed(2)) },
    samples: records.slice(0, o.show).map((r, i) => ({ source: r.source, reference: refText[i], prediction: predText[i] })),
  };
}
