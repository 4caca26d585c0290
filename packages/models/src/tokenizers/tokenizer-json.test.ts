import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTokenizerJson } from './tokenizer-json';

const FILE = fileURLToPath(new URL('../../test/fixtures/tokenizers/bert-zh-cased/tokenizer.json', import.meta.url));
const original = readFileSync(FILE, 'utf8');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const edited = (edit: (json: Json) => void): string => {
  const json = JSON.parse(original);
  edit(json);
  return JSON.stringify(json);
};

describe('parseTokenizerJson', () => {
  it('reads the fast tokenizer file transformers wrote', () => {
    const parsed = parseTokenizerJson(original, FILE);
    expect(parsed.vocab.idOf('[MASK]')).toBe(103);
    expect(parsed.vocab.size).toBe(readFileSync(FILE.replace('tokenizer.json', 'vocab.txt'), 'utf8').split('\n').length - 1);
    expect(parsed.config).toMatchObject({ doLowerCase: false, stripAccents: null, tokenizeChineseChars: true, cleanText: true, clsToken: '[CLS]', sepToken: '[SEP]', unkToken: '[UNK]' });
    expect(parsed.addedTokens).toEqual(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content) => ({ content, special: true })));
  });

  it('accepts the older BertProcessing post-processor', () => {
    const text = edited((j) => {
      j.post_processor = { type: 'BertProcessing', sep: ['[SEP]', 102], cls: ['[CLS]', 101] };
    });
    expect(parseTokenizerJson(text, FILE).config).toMatchObject({ clsToken: '[CLS]', sepToken: '[SEP]' });
  });

  it.each([
    ['a BPE model', (j: Json) => { j.model.type = 'BPE'; }, /\(field "model\.type"\): BertTokenizer reads BERT WordPiece tokenizers only: expected WordPiece, got "BPE"/],
    ['another normalizer', (j: Json) => { j.normalizer = { type: 'NFKC' }; }, /\(field "normalizer\.type"\): .*got "NFKC"/],
    ['no normalizer', (j: Json) => { j.normalizer = null; }, /\(field "normalizer"\): expected an object, got null/],
    ['a byte-level pre-tokenizer', (j: Json) => { j.pre_tokenizer = { type: 'ByteLevel' }; }, /\(field "pre_tokenizer\.type"\): .*got "ByteLevel"/],
    ['a byte-level decoder', (j: Json) => { j.decoder = { type: 'ByteLevel' }; }, /\(field "decoder\.type"\): .*got "ByteLevel"/],
    ['a RoBERTa template', (j: Json) => {
      j.post_processor.pair.splice(3, 0, { SpecialToken: { id: '[SEP]', type_id: 0 } });
    }, /\(field "post_processor"\): expected BERT's template/],
    ['an lstrip added token', (j: Json) => { j.added_tokens[4].lstrip = true; }, /\(field "added_tokens\[4\]\.lstrip"\): added tokens with lstrip: true are not supported/],
    ['an added token with another id', (j: Json) => { j.added_tokens[0].id = 5; }, /\(field "added_tokens\[0\]\.id"\): token "\[PAD\]" has id 5 but 0 in model\.vocab/],
    ['a vocab with a repeated id', (j: Json) => { j.model.vocab['[UNK]'] = 0; }, /\(field "model\.vocab"\): id 0 is used by both "\[PAD\]" and "\[UNK\]"/],
    ['not JSON', () => undefined, /tokenizer\.json: not valid JSON/],
  ])('refuses %s, naming the file and the field', (name, edit, message) => {
    const text = name === 'not JSON' ? original.slice(0, 100) : edited(edit);
    expect(() => parseTokenizerJson(text, FILE)).toThrow(message);
  });
});
