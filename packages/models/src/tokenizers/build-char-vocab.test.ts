import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BertTokenizer } from './bert-tokenizer';
import { buildCharVocab, DEFAULT_SPECIAL_TOKENS } from './build-char-vocab';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CORPUS = join(ROOT, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt');
const CHAR_VOCAB = fileURLToPath(new URL('../../test/fixtures/tokenizers/char-vocab/', import.meta.url));
const FILES = ['vocab.txt', 'tokenizer_config.json', 'special_tokens_map.json'];
// The settings tools/reference/tokenizer_fixtures.py mirrors in reference_char_vocab().
const CORPUS_OPTIONS = { minFreq: 2, maxSize: 6000 };

const SPECIALS = [...DEFAULT_SPECIAL_TOKENS];

describe('buildCharVocab', () => {
  it.each([
    ['specials first, then by frequency', ['好好好', '你你', '我'], {}, [...SPECIALS, '好', '你', '我']],
    ['ties by code point', ['乙甲', '丙'], {}, [...SPECIALS, '丙', '乙', '甲']],
    // '\u{20000}' sorts after U+FF01 by code point, though its first UTF-16 unit (U+D840) sorts before.
    ['non-BMP ties by code point', ['𠀀！'], {}, [...SPECIALS, '！', '𠀀']],
    ['minFreq cuts the tail', ['好好你'], { minFreq: 2 }, [...SPECIALS, '好']],
    ['maxSize counts the specials', ['好好好你你我'], { maxSize: 7 }, [...SPECIALS, '好', '你']],
    [
      'ASCII words are whole tokens plus character pieces',
      ['Hello hello hi'],
      {},
      [...SPECIALS, '##l', 'h', '##e', '##o', 'hello', '##i', 'hi'],
    ],
    ['punctuation and digits as the tokenizer splits them', ['3.14，好'], {}, [...SPECIALS, '##4', '.', '1', '14', '3', '好', '，']],
    ['cased when asked', ['Ab ab'], { basic: { doLowerCase: false } }, [...SPECIALS, '##b', 'A', 'Ab', 'a', 'ab']],
    ['a word equal to a special token is not added again', ['[MASK] 好'], { specialTokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'mask'] }, ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'mask', '##a', '##k', '##s', '[', ']', 'm', '好']],
  ] as const)('%s', (_name, sentences, options, expected) => {
    expect(buildCharVocab(sentences, options).tokens).toEqual(expected);
  });

  it.each([
    [{ minFreq: 0 }, /buildCharVocab: minFreq must be an integer >= 1, got 0/],
    [{ maxSize: 3 }, /buildCharVocab: maxSize must be an integer >= 5 \(the special tokens\), got 3/],
    [{ maxSize: 10.5 }, /maxSize must be an integer >= 5.*got 10.5/],
    [{ specialTokens: ['[PAD]', '[PAD]'] }, /specialTokens must be distinct/],
  ])('refuses %o', (options, message) => {
    expect(() => buildCharVocab(['好'], options)).toThrow(message);
  });

  it('builds the bundled corpus vocabulary: the bytes Python verified load in transformers', async () => {
    const lines = (await readFile(CORPUS, 'utf8')).split('\n');
    const vocab = buildCharVocab(lines, CORPUS_OPTIONS);
    expect(vocab.tokens.slice(0, 5)).toEqual(SPECIALS);
    expect(vocab.size).toBeGreaterThan(3000);
    expect(buildCharVocab(lines, CORPUS_OPTIONS).tokens).toEqual(vocab.tokens); // deterministic

    const tokenizer = new BertTokenizer(vocab, { doLowerCase: true });
    const write = process.env.WRITE_TOKENIZER_FIXTURES === '1';
    // WRITE_TOKENIZER_FIXTURES=1 is set by `tokenizer_fixtures.py --verify-char-vocab`, which then loads the directory in Python.
    const dir = write ? CHAR_VOCAB : await mkdtemp(join(tmpdir(), 'char-vocab-'));
    try {
      await tokenizer.save(dir);
      const verdict = JSON.parse(await readFile(join(CHAR_VOCAB, 'python-verdict.json'), 'utf8').catch(() => '{}'));
      if (write) return;
      expect(verdict.ok).toBe(true);
      expect(verdict.matches_python_reference).toBe(true);
      expect(verdict.do_lower_case).toEqual([true, true]); // transformers read our tokenizer_config.json
      expect(verdict.model_max_length).toBe(tokenizer.config.modelMaxLength);
      for (const file of FILES) {
        const ours = await readFile(join(dir, file));
        expect(ours.equals(await readFile(join(CHAR_VOCAB, file))), file).toBe(true);
        expect(createHash('sha256').update(ours).digest('hex'), file).toBe(verdict.files_sha256[file]);
      }
      // The same ids transformers gave for its sample sentence.
      expect(tokenizer.encode(verdict.sample).input_ids).toEqual(verdict.sample_ids);
    } finally {
      if (!write) await rm(dir, { recursive: true, force: true });
    }
  });
});
