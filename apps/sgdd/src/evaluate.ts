import { Progress } from '@proj/core';
import { corpusBleu, exactMatch, perplexity } from '@proj/metrics';
import { createSgddTask, scoreNoiseLevels, type BertTokenizer, type NoiseLevelScore, type SgddModel } from '@proj/models';
import type { PreparedSplit } from './data';
import type { CliIO } from './cli-io';
import { rowStreams, type Engine, type Sampler } from './engine';

/** Decoded text for people: WordPiece decoding puts spaces between CJK characters; they are dropped here. */
export function idsToText(tokenizer: BertTokenizer, ids: ArrayLike<number>): string {
  const CJK = '[\\u2e80-\\u9fff\\uf900-\\ufaff\\uff00-\\uffef\\u3000-\\u303f]';
  return tokenizer
    .decode(Array.from(ids), { skipSpecialTokens: true })
    .replace(new RegExp(`(?<=${CJK}) +| +(?=${CJK})`, 'g'), '')
    .trim();
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
  /** Decodes the samples (`openSampler`; the caller releases it). */
  sampler: Sampler;
  progress: boolean;
  /** Examples printed in the summary. */
  show: number;
  /** Masked fractions at which the loss examples are also scored one level at a time (empty: none). */
  noiseLevels?: readonly number[];
}

export interface EvalSummary {
  loss: number;
  /** The same dev noise with the null vector: the gap to `loss` is what the semantic vector is worth. */
  loss_unconditional: number;
  perplexity: number;
  loss_examples: number;
  /** The loss examples at each `noiseLevels` fraction: loss and argmax accuracy (`scoreNoiseLevels`). */
  by_noise_level?: NoiseLevelScore[];
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
  const byNoise = o.noiseLevels?.length ? scoreNoiseLevels(model, examples, o.noiseLevels, { batchSize: o.batchSize }) : undefined;

  const m = Math.min(o.samples, dev.records.length);
  const records = dev.records.slice(0, m);
  const predictions: Int32Array[] = [];
  const { sampler } = o;
  const progress = new Progress({ label: `decode (${sampler.engine})`, total: m, unit: 'sent', stream: io.stderr, enabled: o.progress });
  const started = performance.now();
  try {
    for (let i = 0; i < m; i += o.batchSize) {
      const batch = records.slice(i, i + o.batchSize);
      const lengths = batch.map((r) => (r.source === r.target ? r.ids.length : Math.min(model.config.max_length, tokenizer.encode(r.source).input_ids.length)));
      predictions.push(...(await sampler.sample(dev.vectors.slice(i, i + batch.length), lengths, { ...o, rng: rowStreams(o.seed + i, batch.length) })));
      progress.tick(batch.length);
    }
  } finally {
    progress.finish();
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
    ...(byNoise && { by_noise_level: byNoise }),
    decoded: m,
    exact_match: m ? exactMatch(predictions.map((p) => p.join(' ')), records.map((r) => r.ids.join(' '))) : null,
    bleu_reference: bleu(predText, refText),
    bleu_source: bleu(predText, srcText),
    bleu_copy_source_vs_reference: o.phase === 'paraphrase' ? bleu(srcText, refText) : null,
    sampling: { steps: o.steps, guidance: o.guidance, temperature: o.temperature, engine: sampler.engine, seconds: Number(seconds.toFixed(2)), sentences_per_s: Number((m / Math.max(seconds, 1e-9)).toFixed(2)) },
    samples: records.slice(0, o.show).map((r, i) => ({ source: r.source, reference: refText[i], prediction: predText[i] })),
  };
}
