import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@proj/core';
import { BasicTokenizer } from './basic-tokenizer';
import {
  DEFAULT_BERT_TOKENIZER_CONFIG,
  parseTokenizerConfig,
  specialTokensMapJson,
  tokenizerConfigJson,
  validateBertTokenizerConfig,
  type BertTokenizerConfig,
} from './bert-tokenizer-config';
import { decodeWordPieces } from './decode-wordpieces';
import type { Encoding } from './encoding';
import { parseTokenizerJson, type AddedToken } from './tokenizer-json';
import { truncateLongestFirst } from './truncate-longest-first';
import { Vocabulary } from './vocabulary';
import { WordPiece, type WordPieceToken } from './wordpiece';

export interface EncodeOptions {
  /** Keep at most this many tokens, special tokens included (longest_first for pairs). Default: no limit. */
  maxLength?: number;
  /** Pad with [PAD] (type 0, mask 0, offsets [0, 0]) up to this length; longer encodings are left alone. */
  padTo?: number;
  /** Add [CLS] A [SEP] (B [SEP]). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out special tokens ([CLS], [SEP], [PAD], ...). Default false. */
  skipSpecialTokens?: boolean;
}

export interface FromDirectoryOptions {
  /** Which file defines the tokenizer: 'auto' takes tokenizer.json when present, as transformers does. */
  source?: 'auto' | 'tokenizer.json' | 'vocab.txt';
}

/**
 * Hugging Face's BERT WordPiece tokenizer (transformers' fast `BertTokenizer`, the one behind
 * bert-base-chinese and hfl/chinese-macbert-base): same tokens, ids, type ids, offsets and decoded
 * text. Strings are handled per code point; offsets count code points of the original string.
 */
export class BertTokenizer {
  readonly config: Readonly<BertTokenizerConfig>;
  readonly basic: BasicTokenizer;
  readonly wordPiece: WordPiece;
  /** Matched verbatim in the raw text before normalization (the special tokens, by default). */
  readonly addedTokens: readonly AddedToken[];
  readonly padId: number;
  readonly unkId: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  private readonly addedCodePoints: { content: string; cps: string[]; id: number }[];
  private readonly specialIds: Set<number>;

  constructor(
    readonly vocab: Vocabulary,
    config: Partial<BertTokenizerConfig> = {},
    addedTokens?: readonly AddedToken[],
  ) {
    const c: BertTokenizerConfig = { ...DEFAULT_BERT_TOKENIZER_CONFIG, ...config };
    validateBertTokenizerConfig(c, 'BertTokenizer');
    this.config = Object.freeze(c);
    const idOf = (name: keyof BertTokenizerConfig, token: string): number => {
      const id = vocab.idOf(token);
      if (id === undefined) {
        throw new RangeError(`BertTokenizer: ${name} ${JSON.stringify(token)} is not in the vocabulary (${vocab.size} tokens)`);
      }
      return id;
    };
    this.padId = idOf('padToken', c.padToken);
    this.unkId = idOf('unkToken', c.unkToken);
    this.clsId = idOf('clsToken', c.clsToken);
    this.sepId = idOf('sepToken', c.sepToken);
    this.maskId = idOf('maskToken', c.maskToken);
    this.basic = new BasicTokenizer(c);
    this.wordPiece = new WordPiece(vocab, {
      unkToken: c.unkToken,
      continuingSubwordPrefix: c.continuingSubwordPrefix,
      maxInputCharsPerWord: c.maxInputCharsPerWord,
    });
    const specials = [c.padToken, c.unkToken, c.clsToken, c.sepToken, c.maskToken];
    this.addedTokens = addedTokens ?? [...new Set(specials)].map((content) => ({ content, special: true }));
    this.addedCodePoints = this.addedTokens.map((t) => {
      const id = vocab.idOf(t.content);
      if (id === undefined) throw new RangeError(`BertTokenizer: added token ${JSON.stringify(t.content)} is not in the vocabulary`);
      return { content: t.content, cps: [...t.content], id };
    });
    this.specialIds = new Set(this.addedTokens.filter((t) => t.special).map((t) => vocab.idOf(t.content)!));
  }

  /** From vocab.txt text and options (defaults are transformers'). */
  static fromVocabText(text: string, config: Partial<BertTokenizerConfig> = {}): BertTokenizer {
    return new BertTokenizer(Vocabulary.fromText(text), config);
  }

  /**
   * Loads a checkpoint directory: tokenizer.json (a BERT-type fast-tokenizer file) and/or vocab.txt,
   * with tokenizer_config.json and special_tokens_map.json when present. With both files, 'auto'
   * follows tokenizer.json, whose normalizer settings then win over tokenizer_config.json.
   */
  static async fromDirectory(dir: string, options: FromDirectoryOptions = {}): Promise<BertTokenizer> {
    const source = options.source ?? 'auto';
    const path = (name: string) => join(dir, name);
    const readConfig = async (name: string) =>
      existsSync(path(name)) ? parseTokenizerConfig(await readFile(path(name), 'utf8'), path(name)) : {};
    const config = { ...(await readConfig('special_tokens_map.json')), ...(await readConfig('tokenizer_config.json')) };
    const hasJson = existsSync(path('tokenizer.json'));
    const hasVocab = existsSync(path('vocab.txt'));
    if (source === 'tokenizer.json' || (source === 'auto' && hasJson)) {
      if (!hasJson) throw new Error(`BertTokenizer.fromDirectory: no tokenizer.json in ${dir}`);
      const parsed = parseTokenizerJson(await readFile(path('tokenizer.json'), 'utf8'), path('tokenizer.json'));
      return new BertTokenizer(parsed.vocab, { ...config, ...parsed.config }, parsed.addedTokens);
    }
    if (!hasVocab) {
      throw new Error(`BertTokenizer.fromDirectory: ${dir} has ${source === 'auto' ? 'neither tokenizer.json nor vocab.txt' : 'no vocab.txt'}`);
    }
    return new BertTokenizer(Vocabulary.fromText(await readFile(path('vocab.txt'), 'utf8')), config);
  }

  /**
   * Writes vocab.txt, tokenizer_config.json and special_tokens_map.json (each atomically), which
   * transformers' BertTokenizer.from_pretrained(dir) loads. Added tokens other than the five special
   * tokens are not written (vocab.txt has no place for them).
   */
  async save(dir: string): Promise<void> {
    const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
    await writeFileAtomic(join(dir, 'vocab.txt'), this.vocab.toText());
    await writeFileAtomic(join(dir, 'tokenizer_config.json'), json(tokenizerConfigJson(this.config)));
    await writeFileAtomic(join(dir, 'special_tokens_map.json'), json(specialTokensMapJson(this.config)));
  }

  /** Word pieces of `text` (special tokens in the text kept whole), with code point offsets. */
  tokenizeWithOffsets(text: string): WordPieceToken[] {
    const cps = [...text];
    const out: WordPieceToken[] = [];
    let segmentStart = 0;
    const flushSegment = (end: number) => {
      if (end <= segmentStart) return;
      const words = this.basic.preTokenize(this.basic.normalize(cps.slice(segmentStart, end), segmentStart));
      for (const word of words) out.push(...this.wordPiece.tokenize(word));
    };
    let i = 0;
    while (i < cps.length) {
      const match = this.matchAddedToken(cps, i);
      if (match === undefined) {
        i++;
        continue;
      }
      flushSegment(i);
      out.push({ token: match.content, id: match.id, start: i, end: i + match.cps.length });
      i += match.cps.length;
      segmentStart = i;
    }
    flushSegment(cps.length);
    return out;
  }

  /** Word pieces of `text`, as transformers' tokenizer.tokenize(text). */
  tokenize(text: string): string[] {
    return this.tokenizeWithOffsets(text).map((t) => t.token);
  }

  /** [CLS] text [SEP] (pair [SEP]), truncated and padded as asked; see Encoding. */
  encode(text: string, pair?: string, options: EncodeOptions = {}): Encoding {
    const addSpecial = options.addSpecialTokens ?? true;
    let a = this.tokenizeWithOffsets(text);
    let b = pair === undefined ? undefined : this.tokenizeWithOffsets(pair);
    if (options.maxLength !== undefined) {
      const specials = addSpecial ? (b === undefined ? 2 : 3) : 0;
      const target = options.maxLength - specials;
      if (!Number.isInteger(options.maxLength) || target < 0) {
        throw new RangeError(`BertTokenizer.encode: maxLength must be an integer >= ${specials} (the special tokens), got ${options.maxLength}`);
      }
      if (b === undefined) {
        a = a.slice(0, target);
      } else {
        const [keepA, keepB] = truncateLongestFirst(a.length, b.length, target);
        a = a.slice(0, keepA);
        b = b.slice(0, keepB);
      }
    }
    const enc: Encoding = { input_ids: [], token_type_ids: [], attention_mask: [], tokens: [], offsets: [], sequence_ids: [] };
    const push = (token: string, id: number, type: 0 | 1, offsets: [number, number], sequence: 0 | 1 | null) => {
      enc.input_ids.push(id);
      enc.token_type_ids.push(type);
      enc.attention_mask.push(1);
      enc.tokens.push(token);
      enc.offsets.push(offsets);
      enc.sequence_ids.push(sequence);
    };
    const c = this.config;
    if (addSpecial) push(c.clsToken, this.clsId, 0, [0, 0], null);
    for (const t of a) push(t.token, t.id, 0, [t.start, t.end], 0);
    if (addSpecial) push(c.sepToken, this.sepId, 0, [0, 0], null);
    if (b !== undefined) {
      for (const t of b) push(t.token, t.id, 1, [t.start, t.end], 1);
      if (addSpecial) push(c.sepToken, this.sepId, 1, [0, 0], null);
    }
    if (options.padTo !== undefined) this.pad(enc, options.padTo);
    return enc;
  }

  /** Encodes every input (a text or a [text, pair]) and pads all to the longest (or to padTo if longer). */
  encodeBatch(inputs: readonly (string | readonly [string, string])[], options: EncodeOptions = {}): Encoding[] {
    const encodings = inputs.map((input) =>
      typeof input === 'string'
        ? this.encode(input, undefined, { ...options, padTo: undefined })
        : this.encode(input[0], input[1], { ...options, padTo: undefined }),
    );
    const length = Math.max(options.padTo ?? 0, ...encodings.map((e) => e.input_ids.length));
    for (const enc of encodings) this.pad(enc, length);
    return encodings;
  }

  /** Text of `ids`, as transformers' decode: "##" pieces glued, other tokens space-separated. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const kept = options.skipSpecialTokens ? ids.filter((id) => !this.specialIds.has(id)) : ids;
    const tokens = kept.map((id) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocab.size) {
        throw new RangeError(`BertTokenizer.decode: ids must be integers in [0, ${this.vocab.size}), got ${id}`);
      }
      return this.vocab.tokenOf(id);
    });
    return decodeWordPieces(tokens, this.config.continuingSubwordPrefix, this.config.cleanUpTokenizationSpaces);
  }

  /** Ids of tokens; a token outside the vocabulary maps to unkId. */
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.vocab.idOf(t) ?? this.unkId);
  }

  convertIdsToTokens(ids: readonly number[]): string[] {
    return ids.map((id) => this.vocab.tokenOf(id));
  }

  /** Whether `id` is a special token (left out by decode with skipSpecialTokens). */
  isSpecialId(id: number): boolean {
    return this.specialIds.has(id);
  }

  private pad(enc: Encoding, length: number): void {
    if (!Number.isInteger(length) || length < 0) {
      throw new RangeError(`BertTokenizer.encode: padTo must be an integer >= 0, got ${length}`);
    }
    while (enc.input_ids.length < length) {
      enc.input_ids.push(this.padId);
      enc.token_type_ids.push(0);
      enc.attention_mask.push(0);
      enc.tokens.push(this.config.padToken);
      enc.offsets.push([0, 0]);
      enc.sequence_ids.push(null);
    }
  }

  /** The longest added token starting at code point i (leftmost-longest, as the fast tokenizer). */
  private matchAddedToken(cps: readonly string[], i: number) {
    let best: (typeof this.addedCodePoints)[number] | undefined;
    for (const t of this.addedCodePoints) {
      if (best !== undefined && t.cps.length <= best.cps.length) continue;
      if (i + t.cps.length > cps.length) continue;
      let ok = true;
      for (let k = 0; k < t.cps.length && ok; k++) ok = cps[i + k] === t.cps[k];
      if (ok) best = t;
    }
    return best;
  }
}
