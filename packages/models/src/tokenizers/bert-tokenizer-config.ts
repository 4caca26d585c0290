import { DataError } from '@proj/core';

/** Everything that shapes a BertTokenizer besides its vocabulary. Defaults are Hugging Face's. */
export interface BertTokenizerConfig {
  /** Lower-case the input (and, with stripAccents null, strip accents). */
  doLowerCase: boolean; // true
  /** Surround CJK ideographs with spaces so each is a word. */
  tokenizeChineseChars: boolean; // true
  /** Strip accents; null = same as doLowerCase. */
  stripAccents: boolean | null; // null
  /** Drop control characters, map Unicode spaces to ' '. */
  cleanText: boolean; // true
  /** Longest input the model takes; encode() truncates to it only when asked. */
  modelMaxLength: number; // 512
  /** A word longer than this (code points) becomes [UNK]. */
  maxInputCharsPerWord: number; // 100
  /** Prefix of a word-continuing piece. */
  continuingSubwordPrefix: string; // '##'
  /** Apply transformers' clean_up_tokenization (" ." -> ".", " 's" -> "'s", ...) to decoded text. */
  cleanUpTokenizationSpaces: boolean; // false (transformers 5)
  unkToken: string; // '[UNK]'
  sepToken: string; // '[SEP]'
  padToken: string; // '[PAD]'
  clsToken: string; // '[CLS]'
  maskToken: string; // '[MASK]'
}

export const DEFAULT_BERT_TOKENIZER_CONFIG: Readonly<BertTokenizerConfig> = Object.freeze({
  doLowerCase: true,
  tokenizeChineseChars: true,
  stripAccents: null,
  cleanText: true,
  modelMaxLength: 512,
  maxInputCharsPerWord: 100,
  continuingSubwordPrefix: '##',
  cleanUpTokenizationSpaces: false,
  unkToken: '[UNK]',
  sepToken: '[SEP]',
  padToken: '[PAD]',
  clsToken: '[CLS]',
  maskToken: '[MASK]',
});

/** Throws a RangeError naming `where`, the field and the value for a config that cannot work. */
export function validateBertTokenizerConfig(config: BertTokenizerConfig, where: string): void {
  for (const key of ['doLowerCase', 'tokenizeChineseChars', 'cleanText', 'cleanUpTokenizationSpaces'] as const) {
    if (typeof config[key] !== 'boolean') throw new RangeError(`${where}: ${key} must be true or false, got ${JSON.stringify(config[key])}`);
  }
  if (config.stripAccents !== null && typeof config.stripAccents !== 'boolean') {
    throw new RangeError(`${where}: stripAccents must be true, false or null, got ${JSON.stringify(config.stripAccents)}`);
  }
  if (!(config.modelMaxLength > 0)) throw new RangeError(`${where}: modelMaxLength must be > 0, got ${config.modelMaxLength}`);
  if (!Number.isInteger(config.maxInputCharsPerWord) || config.maxInputCharsPerWord < 1) {
    throw new RangeError(`${where}: maxInputCharsPerWord must be an integer >= 1, got ${config.maxInputCharsPerWord}`);
  }
  for (const key of ['continuingSubwordPrefix', 'unkToken', 'sepToken', 'padToken', 'clsToken', 'maskToken'] as const) {
    if (typeof config[key] !== 'string' || config[key] === '') {
      throw new RangeError(`${where}: ${key} must be a non-empty string, got ${JSON.stringify(config[key])}`);
    }
  }
}

/** Tokenizer classes whose checkpoints are plain BERT WordPiece tokenizers. */
const BERT_LIKE_CLASSES = new Set([
  'BertTokenizer',
  'BertTokenizerFast',
  'ElectraTokenizer',
  'ElectraTokenizerFast',
  'DistilBertTokenizer',
  'DistilBertTokenizerFast',
]);

const SPECIAL_KEYS = [
  ['unk_token', 'unkToken'],
  ['sep_token', 'sepToken'],
  ['pad_token', 'padToken'],
  ['cls_token', 'clsToken'],
  ['mask_token', 'maskToken'],
] as const;

/** transformers writes a special token as a string or (older files) as `{ "content": ... }`. */
function specialToken(value: unknown, file: string, field: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  throw new DataError(`expected a string or {"content": string}, got ${JSON.stringify(value)}`, { file, field });
}

function bool(value: unknown, file: string, field: string): boolean {
  if (typeof value !== 'boolean') throw new DataError(`expected true or false, got ${JSON.stringify(value)}`, { file, field });
  return value;
}

/**
 * Reads the fields of a tokenizer_config.json (or special_tokens_map.json) that matter for a BERT
 * tokenizer; other fields are ignored. Returns only the fields present.
 */
export function parseTokenizerConfig(text: string, file: string): Partial<BertTokenizerConfig> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new DataError(`not valid JSON (${(error as Error).message})`, { file });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new DataError(`expected a JSON object, got ${Array.isArray(json) ? 'an array' : JSON.stringify(json)}`, { file });
  }
  const raw = json as Record<string, unknown>;
  const config: Partial<BertTokenizerConfig> = {};
  const cls = raw.tokenizer_class;
  if (cls !== undefined && cls !== null && !(typeof cls === 'string' && BERT_LIKE_CLASSES.has(cls))) {
    throw new DataError(`BertTokenizer reads BERT WordPiece tokenizers only, got ${JSON.stringify(cls)}`, {
      file,
      field: 'tokenizer_class',
    });
  }
  if (raw.do_lower_case !== undefined) config.doLowerCase = bool(raw.do_lower_case, file, 'do_lower_case');
  if (raw.tokenize_chinese_chars !== undefined) {
    config.tokenizeChineseChars = bool(raw.tokenize_chinese_chars, file, 'tokenize_chinese_chars');
  }
  if (raw.strip_accents !== undefined) {
    config.stripAccents = raw.strip_accents === null ? null : bool(raw.strip_accents, file, 'strip_accents');
  }
  if (raw.clean_up_tokenization_spaces !== undefined) {
    config.cleanUpTokenizationSpaces = bool(raw.clean_up_tokenization_spaces, file, 'clean_up_tokenization_spaces');
  }
  if (raw.model_max_length !== undefined) {
    const n = raw.model_max_length;
    if (typeof n !== 'number' || !(n > 0)) {
      throw new DataError(`expected a positive number, got ${JSON.stringify(n)}`, { file, field: 'model_max_length' });
    }
    // transformers writes 1e30 ("no limit") when a checkpoint has none.
    config.modelMaxLength = Number.isSafeInteger(n) ? n : Number.POSITIVE_INFINITY;
  }
  for (const [key, name] of SPECIAL_KEYS) {
    if (raw[key] !== undefined && raw[key] !== null) config[name] = specialToken(raw[key], file, key);
  }
  return config;
}

/** The tokenizer_config.json that transformers' BertTokenizer.from_pretrained reads back. */
export function tokenizerConfigJson(config: BertTokenizerConfig): Record<string, unknown> {
  return {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: config.doLowerCase,
    tokenize_chinese_chars: config.tokenizeChineseChars,
    strip_accents: config.stripAccents,
    clean_up_tokenization_spaces: config.cleanUpTokenizationSpaces,
    // JSON has no Infinity; transformers uses 1e30 for "no limit".
    model_max_length: Number.isFinite(config.modelMaxLength) ? config.modelMaxLength : 1e30,
    ...specialTokensMapJson(config),
  };
}

/** special_tokens_map.json content. */
export function specialTokensMapJson(config: BertTokenizerConfig): Record<string, string> {
  return {
    unk_token: config.unkToken,
    sep_token: config.sepToken,
    pad_token: config.padToken,
    cls_token: config.clsToken,
    mask_token: config.maskToken,
  };
}
