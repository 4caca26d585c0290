import { DataError } from '@proj/core';
import type { BertTokenizerConfig } from './bert-tokenizer-config';
import { Vocabulary } from './vocabulary';

/** A token matched verbatim in the raw text before normalization (transformers' added tokens). */
export interface AddedToken {
  content: string;
  /** Removed by decode({ skipSpecialTokens: true }). */
  special: boolean;
}

/** What a BERT-type tokenizer.json holds, in BertTokenizer's terms. */
export interface ParsedTokenizerJson {
  vocab: Vocabulary;
  config: Partial<BertTokenizerConfig>;
  addedTokens: AddedToken[];
}

type Json = Record<string, unknown>;

function object(value: unknown, file: string, field: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DataError(`expected an object, got ${JSON.stringify(value)}`, { file, field });
  }
  return value as Json;
}

function expectType(section: unknown, allowed: string[], file: string, field: string): Json {
  const obj = object(section, file, field);
  if (typeof obj.type !== 'string' || !allowed.includes(obj.type)) {
    throw new DataError(
      `BertTokenizer reads BERT WordPiece tokenizers only: expected ${allowed.join(' or ')}, got ${JSON.stringify(obj.type)}`,
      { file, field: `${field}.type` },
    );
  }
  return obj;
}

function optionalBool(obj: Json, key: string, file: string, field: string): boolean | undefined {
  const value = obj[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw new DataError(`expected true or false, got ${JSON.stringify(value)}`, { file, field: `${field}.${key}` });
  return value;
}

/** The special tokens [first, sep] of a BERT post-processor: `[CLS] $A [SEP] ($B [SEP])`. */
function postProcessorTokens(section: unknown, file: string): { cls: string; sep: string } {
  const pp = expectType(section, ['TemplateProcessing', 'BertProcessing'], file, 'post_processor');
  if (pp.type === 'BertProcessing') {
    const cls = pp.cls as unknown[];
    const sep = pp.sep as unknown[];
    if (!Array.isArray(cls) || typeof cls[0] !== 'string' || !Array.isArray(sep) || typeof sep[0] !== 'string') {
      throw new DataError('expected cls and sep as [token, id]', { file, field: 'post_processor' });
    }
    return { cls: cls[0], sep: sep[0] };
  }
  // TemplateProcessing: accept exactly BERT's template, whatever its special tokens are called.
  const describe = (items: unknown): string =>
    Array.isArray(items)
      ? items
          .map((item) => {
            const it = item as { SpecialToken?: { id: string; type_id: number }; Sequence?: { id: string; type_id: number } };
            if (it.SpecialToken) return `${it.SpecialToken.id}:${it.SpecialToken.type_id}`;
            if (it.Sequence) return `$${it.Sequence.id}:${it.Sequence.type_id}`;
            return '?';
          })
          .join(' ')
      : String(items);
  const single = describe(pp.single);
  const pair = describe(pp.pair);
  const m = /^(\S+):0 \$A:0 (\S+):0$/.exec(single);
  if (!m || pair !== `${m[1]}:0 $A:0 ${m[2]}:0 $B:1 ${m[2]}:1`) {
    throw new DataError(`expected BERT's template "[CLS]:0 $A:0 [SEP]:0" / "... $B:1 [SEP]:1", got "${single}" / "${pair}"`, {
      file,
      field: 'post_processor',
    });
  }
  return { cls: m[1], sep: m[2] };
}

/**
 * Parses a Hugging Face fast-tokenizer file (tokenizer.json) of BERT type: normalizer BertNormalizer,
 * pre_tokenizer BertPreTokenizer, model WordPiece, post_processor TemplateProcessing (BERT's template)
 * or BertProcessing, decoder WordPiece. Anything else is refused with the file and the field.
 */
export function parseTokenizerJson(text: string, file: string): ParsedTokenizerJson {
  let root: Json;
  try {
    root = object(JSON.parse(text), file, '(root)');
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`not valid JSON (${(error as Error).message})`, { file });
  }
  const model = expectType(root.model, ['WordPiece'], file, 'model');
  const normalizer = expectType(root.normalizer, ['BertNormalizer'], file, 'normalizer');
  expectType(root.pre_tokenizer, ['BertPreTokenizer'], file, 'pre_tokenizer');
  const decoder = expectType(root.decoder, ['WordPiece'], file, 'decoder');
  const { cls, sep } = postProcessorTokens(root.post_processor, file);

  const vocab = Vocabulary.fromIdMap(object(model.vocab, file, 'model.vocab'), file, 'model.vocab');
  const config: Partial<BertTokenizerConfig> = { clsToken: cls, sepToken: sep };
  if (typeof model.unk_token === 'string') config.unkToken = model.unk_token;
  if (typeof model.continuing_subword_prefix === 'string') config.continuingSubwordPrefix = model.continuing_subword_prefix;
  if (typeof model.max_input_chars_per_word === 'number') config.maxInputCharsPerWord = model.max_input_chars_per_word;
  if (decoder.prefix !== undefined && decoder.prefix !== config.continuingSubwordPrefix && decoder.prefix !== '##') {
    throw new DataError(`decoder prefix ${JSON.stringify(decoder.prefix)} differs from the model's`, { file, field: 'decoder.prefix' });
  }
  if (decoder.cleanup === false) {
    throw new DataError('a WordPiece decoder without cleanup is not supported', { file, field: 'decoder.cleanup' });
  }
  config.cleanText = optionalBool(normalizer, 'clean_text', file, 'normalizer') ?? true;
  config.tokenizeChineseChars = optionalBool(normalizer, 'handle_chinese_chars', file, 'normalizer') ?? true;
  config.doLowerCase = optionalBool(normalizer, 'lowercase', file, 'normalizer') ?? true;
  const strip = normalizer.strip_accents;
  config.stripAccents = strip === null || strip === undefined ? null : (optionalBool(normalizer, 'strip_accents', file, 'normalizer') ?? null);

  const addedTokens: AddedToken[] = [];
  const added = root.added_tokens ?? [];
  if (!Array.isArray(added)) throw new DataError(`expected an array, got ${JSON.stringify(added)}`, { file, field: 'added_tokens' });
  added.forEach((entry, i) => {
    const field = `added_tokens[${i}]`;
    const t = object(entry, file, field);
    if (typeof t.content !== 'string' || t.content === '') {
      throw new DataError(`expected a non-empty content string, got ${JSON.stringify(t.content)}`, { file, field: `${field}.content` });
    }
    for (const flag of ['single_word', 'lstrip', 'rstrip', 'normalized']) {
      if (t[flag] === true) throw new DataError(`added tokens with ${flag}: true are not supported`, { file, field: `${field}.${flag}` });
    }
    if (vocab.idOf(t.content) !== t.id) {
      throw new DataError(`token ${JSON.stringify(t.content)} has id ${JSON.stringify(t.id)} but ${vocab.idOf(t.content)} in model.vocab`, {
        file,
        field: `${field}.id`,
      });
    }
    addedTokens.push({ content: t.content, special: t.special === true });
  });
  return { vocab, config, addedTokens };
}
