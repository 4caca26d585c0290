import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { parseBertConfig, type BertConfig } from '../bert/config';
import type { PaddedInputs } from '../gap-relm/inputs';
import { BertTokenizer } from '../tokenizers/bert-tokenizer';
import { createOnnxSession, type OnnxSessionOptions } from './session';
import { float32Output, idFeeds } from './tensors';

/** The model file of an optimum export directory. */
export const OPTIMUM_MODEL_FILE = 'model.onnx';

export interface FillMaskCandidate {
  token: string;
  id: number;
  /** Softmax probability over the vocabulary. */
  score: number;
}

/**
 * A Hugging Face BERT masked LM exported to ONNX the usual way (optimum's layout: `model.onnx`
 * with inputs `input_ids`, `attention_mask`, optionally `token_type_ids`, and output `logits`
 * [batch, sequence, vocab]; `config.json`; the tokenizer files), on onnxruntime-node. E.g.
 * `optimum-cli export onnx --model hfl/chinese-macbert-base --task fill-mask macbert-onnx/`.
 *
 * Such a graph returns logits at every position; the rows a caller needs are gathered here (our
 * own exports take `mask_positions` instead and compute the head at the masks only).
 */
export class OnnxMaskedLM {
  private constructor(
    readonly dir: string,
    readonly session: ort.InferenceSession,
    readonly tokenizer: BertTokenizer,
    readonly config: BertConfig,
    /** The execution provider the session runs on. */
    readonly provider: string,
    readonly intraOpNumThreads: number,
  ) {}

  static async load(dir: string, options: OnnxSessionOptions = {}): Promise<OnnxMaskedLM> {
    const fn = 'OnnxMaskedLM.load';
    const modelPath = join(dir, OPTIMUM_MODEL_FILE);
    const configPath = join(dir, 'config.json');
    for (const path of [modelPath, configPath]) {
      if (!existsSync(path)) throw new Error(`${fn}: ${path} is missing; expected an optimum export directory (model.onnx, config.json, vocab.txt or tokenizer.json)`);
    }
    const config = parseBertConfig(JSON.parse(await readFile(configPath, 'utf8')), configPath);
    const tokenizer = await BertTokenizer.fromDirectory(dir);
    if (tokenizer.vocab.size > config.vocabSize) throw new RangeError(`${fn}: the tokenizer in ${dir} has ${tokenizer.vocab.size} tokens but ${configPath} says vocab_size ${config.vocabSize}`);
    const { session, provider, intraOpNumThreads } = await createOnnxSession(modelPath, options);
    try {
      for (const name of ['input_ids', 'attention_mask']) {
        if (!session.inputNames.includes(name)) throw new Error(`${fn}: ${modelPath} has no input '${name}' (inputs: ${session.inputNames.join(', ')}); is it a BERT masked LM export?`);
      }
      if (!session.outputNames.includes('logits')) throw new Error(`${fn}: ${modelPath} has no output 'logits' (outputs: ${session.outputNames.join(', ')}); export with --task fill-mask`);
    } catch (error) {
      await session.release();
      throw error;
    }
    return new OnnxMaskedLM(dir, session, tokenizer, config, provider, intraOpNumThreads);
  }

  /** Logits [batch, length, vocab] for padded inputs, row-major. */
  async logits(x: PaddedInputs): Promise<Float32Array> {
    const feeds = idFeeds(x);
    // Exports of models without segment embeddings (e.g. some distilled BERTs) take no token types.
    if (!this.session.inputNames.includes('token_type_ids')) delete feeds.token_type_ids;
    const outputs = await this.session.run(feeds, ['logits']);
    const { data, dims } = float32Output(outputs, 'logits', 'OnnxMaskedLM.logits');
    if (dims.length !== 3 || dims[0] !== x.batch || dims[1] !== x.length) {
      throw new Error(`OnnxMaskedLM.logits: ${join(this.dir, OPTIMUM_MODEL_FILE)} returned logits of shape [${dims.join(', ')}] for inputs [${x.batch}, ${x.length}]; expected [batch, sequence, vocab]`);
    }
    return data;
  }

  /** Logits rows [positions.length, vocab] at flat positions b * length + i. */
  async logitsAt(x: PaddedInputs, positions: Int32Array): Promise<Float32Array> {
    const all = await this.logits(x);
    const V = all.length / (x.batch * x.length);
    const out = new Float32Array(positions.length * V);
    positions.forEach((p, row) => out.set(all.subarray(p * V, (p + 1) * V), row * V));
    return out;
  }

  /**
   * The fill-mask pipeline: each text is tokenized as transformers does (WordPiece, [CLS] ... [SEP],
   * `[MASK]` kept whole), and each [MASK] gets its `topK` most likely tokens.
   */
  async fillMask(texts: string[], topK = 5): Promise<FillMaskCandidate[][][]> {
    if (!(Number.isInteger(topK) && topK >= 1)) throw new RangeError(`OnnxMaskedLM.fillMask: topK must be an integer >= 1, got ${topK}`);
    const encodings = texts.map((text) => this.tokenizer.encode(text));
    const length = Math.max(1, ...encodings.map((e) => e.input_ids.length));
    const x: PaddedInputs = {
      batch: texts.length,
      length,
      inputIds: new Int32Array(texts.length * length).fill(this.tokenizer.padId),
      attentionMask: new Int32Array(texts.length * length),
      tokenTypeIds: new Int32Array(texts.length * length),
    };
    const positions: number[] = [];
    const owners: number[] = [];
    encodings.forEach((e, b) => {
      e.input_ids.forEach((id, i) => {
        x.inputIds[b * length + i] = id;
        x.attentionMask[b * length + i] = 1;
        x.tokenTypeIds[b * length + i] = e.token_type_ids[i];
        if (id === this.tokenizer.maskId) {
          positions.push(b * length + i);
          owners.push(b);
        }
      });
    });
    const out: FillMaskCandidate[][][] = texts.map(() => []);
    if (positions.length === 0 || texts.length === 0) return out;
    const rows = await this.logitsAt(x, Int32Array.from(positions));
    const V = rows.length / positions.length;
    owners.forEach((b, m) => {
      const row = rows.subarray(m * V, (m + 1) * V);
      let max = -Infinity;
      for (const v of row) max = Math.max(max, v);
      let sum = 0;
      for (const v of row) sum += Math.exp(v - max);
      const best = Array.from(row.keys())
        .sort((i, j) => row[j] - row[i] || i - j)
        .slice(0, topK);
      out[b].push(best.map((id) => ({ id, token: id < this.tokenizer.vocab.size ? this.tokenizer.vocab.tokenOf(id) : `[unused-column-${id}]`, score: Math.exp(row[id] - max) / sum })));
    });
    return out;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
