import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from 'tokenizers';
import { ChatTemplate, type ChatMessage, type ChatTemplateOptions } from './chat-template';

/** The special tokens a causal LM needs, by role; each is a token string and its id. */
export interface BpeSpecialTokens {
  bos?: { token: string; id: number };
  eos?: { token: string; id: number };
  pad?: { token: string; id: number };
  unk?: { token: string; id: number };
}

export interface BpeEncodeOptions {
  /** Let the tokenizer's post-processor add its special tokens (as Python's default); minimind has none. */
  addSpecialTokens?: boolean;
}

export interface BpeDecodeOptions {
  /** Drop special tokens (`<|im_start|>` ...) from the text; false keeps them, as Python's default. */
  skipSpecialTokens?: boolean;
}

type TokenSpec = string | { content?: unknown } | null | undefined;

function tokenContent(spec: TokenSpec): string | undefined {
  if (typeof spec === 'string') return spec;
  if (spec && typeof spec === 'object' && typeof spec.content === 'string') return spec.content;
  return undefined;
}

/**
 * A Hugging Face `tokenizer.json` (byte-level BPE such as minimind's or GPT-2's, or any other
 * model the Rust library reads) run by `tokenizers`, Hugging Face's own Node binding of the Rust
 * library that Python `tokenizers` wraps, so ids equal Python's by construction (checked on
 * committed fixtures). Special tokens and the chat template come from `tokenizer_config.json`.
 */
export class BpeTokenizer {
  readonly vocabSize: number;
  readonly special: BpeSpecialTokens;
  /** Ids of the added tokens marked special (skipped by `decode` with `skipSpecialTokens`). */
  readonly specialIds: ReadonlySet<number>;
  readonly chatTemplate: ChatTemplate | undefined;

  private constructor(
    private readonly inner: Tokenizer,
    /** The tokenizer.json text, kept so `save` writes exactly what was loaded. */
    readonly tokenizerJson: string,
    /** The parsed tokenizer_config.json ({} when there was none). */
    readonly config: Record<string, unknown>,
  ) {
    this.vocabSize = inner.getVocabSize(true);
    const parsed = JSON.parse(tokenizerJson) as { added_tokens?: { id: number; content: string; special?: boolean }[] };
    this.specialIds = new Set((parsed.added_tokens ?? []).filter((t) => t.special).map((t) => t.id));
    const special: BpeSpecialTokens = {};
    const names: Record<string, string> = {};
    for (const role of ['bos', 'eos', 'pad', 'unk'] as const) {
      const token = tokenContent(config[`${role}_token`] as TokenSpec);
      if (token === undefined) continue;
      const id = inner.tokenToId(token);
      if (id === null || id === undefined) {
        throw new Error(`BpeTokenizer: tokenizer_config.json ${role}_token ${JSON.stringify(token)} is not in the vocabulary`);
      }
      special[role] = { token, id };
      names[`${role}_token`] = token;
    }
    this.special = special;
    const template = config.chat_template;
    this.chatTemplate = typeof template === 'string' ? new ChatTemplate(template, names) : undefined;
  }

  /** Reads `<dir>/tokenizer.json` and, when present, `<dir>/tokenizer_config.json`. */
  static async fromDirectory(dir: string): Promise<BpeTokenizer> {
    const jsonFile = join(dir, 'tokenizer.json');
    if (!existsSync(jsonFile)) throw new Error(`BpeTokenizer.fromDirectory: no tokenizer.json in ${dir}`);
    const configFile = join(dir, 'tokenizer_config.json');
    let config: Record<string, unknown> = {};
    if (existsSync(configFile)) {
      try {
        config = JSON.parse(await readFile(configFile, 'utf8')) as Record<string, unknown>;
      } catch (error) {
        throw new Error(`BpeTokenizer.fromDirectory: ${configFile}: invalid JSON: ${(error as Error).message}`);
      }
    }
    return BpeTokenizer.fromJson(await readFile(jsonFile, 'utf8'), config, jsonFile);
  }

  /** From the text of a tokenizer.json and a parsed tokenizer_config.json. */
  static fromJson(tokenizerJson: string, config: Record<string, unknown> = {}, source = 'tokenizer.json'): BpeTokenizer {
    let inner: Tokenizer;
    try {
      inner = Tokenizer.fromString(tokenizerJson);
    } catch (error) {
      throw new Error(`BpeTokenizer: ${source}: cannot load: ${(error as Error).message}`);
    }
    return new BpeTokenizer(inner, tokenizerJson, config);
  }

  tokenToId(token: string): number | undefined {
    return this.inner.tokenToId(token) ?? undefined;
  }

  idToToken(id: number): string | undefined {
    return this.inner.idToToken(id) ?? undefined;
  }

  async encode(text: string, options: BpeEncodeOptions = {}): Promise<number[]> {
    const encoding = await this.inner.encode(text, null, { addSpecialTokens: options.addSpecialTokens ?? true });
    return encoding.getIds();
  }

  /** Encodes many texts in one call (the Rust library spreads them over its own threads). */
  async encodeBatch(texts: readonly string[], options: BpeEncodeOptions = {}): Promise<number[][]> {
    if (texts.length === 0) return [];
    const encodings = await this.inner.encodeBatch([...texts], { addSpecialTokens: options.addSpecialTokens ?? true });
    return encodings.map((encoding) => encoding.getIds());
  }

  async decode(ids: readonly number[], options: BpeDecodeOptions = {}): Promise<string> {
    this.checkIds(ids, 'decode');
    return this.inner.decode([...ids], options.skipSpecialTokens ?? false);
  }

  async decodeBatch(batch: readonly (readonly number[])[], options: BpeDecodeOptions = {}): Promise<string[]> {
    for (const ids of batch) this.checkIds(ids, 'decodeBatch');
    return this.inner.decodeBatch(batch.map((ids) => [...ids]), options.skipSpecialTokens ?? false);
  }

  /** The conversation as text through the tokenizer's chat template. */
  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    if (!this.chatTemplate) throw new Error('BpeTokenizer.applyChatTemplate: tokenizer_config.json has no chat_template');
    return this.chatTemplate.render(messages, options);
  }

  /** The conversation's ids: the rendered template encoded without further special tokens. */
  async encodeChat(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): Promise<number[]> {
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }

  private checkIds(ids: readonly number[], fn: string): void {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new RangeError(`BpeTokenizer.${fn}: id must be an integer in [0, ${this.vocabSize}), got ${id}`);
      }
    }
  }
}
