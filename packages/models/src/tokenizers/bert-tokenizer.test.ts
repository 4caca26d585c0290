import { mkdtemp, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BertTokenizer } from './bert-tokenizer';
import { Vocabulary } from './vocabulary';

// Made by tools/reference/tokenizer_fixtures.py with transformers' fast BertTokenizer.
const FIXTURES = fileURLToPath(new URL('../../test/fixtures/tokenizers/', import.meta.url));

interface Expected {
  input_ids: number[];
  token_type_ids: number[];
  attention_mask: number[];
  tokens: string[];
  offsets: [number, number][];
  decoded: string;
  decoded_skip_special: string;
  slow_tokens?: string[];
}
interface Case {
  name: string;
  text: string;
  pair?: string;
  max_length?: number;
  expected: { lower: Expected; cased: Expected };
}
interface Fixture {
  cases: Case[];
  padding: { text: string; max_length: number; input_ids: number[]; token_type_ids: number[]; attention_mask: number[]; offsets: [number, number][] }[];
  random: ({ text: string } & Record<'lower' | 'cased', { input_ids: number[]; offsets: [number, number][] }>)[];
  batch: { texts: string[]; input_ids: number[][]; token_type_ids: number[][]; attention_mask: number[][]; offsets: [number, number][][] };
}
const fixture: Fixture = JSON.parse(readFileSync(join(FIXTURES, 'cases.json'), 'utf8'));

const MODES = ['lower', 'cased'] as const;
const MINI = '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n';
const SOURCES = ['vocab.txt', 'tokenizer.json'] as const;
const tokenizers = new Map<string, BertTokenizer>();
beforeAll(async () => {
  for (const mode of MODES) {
    for (const source of SOURCES) {
      tokenizers.set(`${mode}/${source}`, await BertTokenizer.fromDirectory(join(FIXTURES, `bert-zh-${mode}`), { source }));
    }
  }
});

describe('BertTokenizer matches transformers (fast) on the reference table', () => {
  it('has the table it expects', () => {
    expect(fixture.cases.length).toBeGreaterThanOrEqual(80);
  });

  for (const mode of MODES) {
    for (const source of SOURCES) {
      it.each(fixture.cases.map((c) => [c.name, c] as const))(`${mode} via ${source}: %s`, (_name, c) => {
        const tok = tokenizers.get(`${mode}/${source}`)!;
        const want = c.expected[mode];
        const got = tok.encode(c.text, c.pair, { maxLength: c.max_length });
        expect(got.tokens).toEqual(want.tokens);
        expect(got.input_ids).toEqual(want.input_ids);
        expect(got.token_type_ids).toEqual(want.token_type_ids);
        expect(got.attention_mask).toEqual(want.attention_mask);
        expect(got.offsets).toEqual(want.offsets);
        expect(tok.decode(got.input_ids)).toBe(want.decoded);
        expect(tok.decode(got.input_ids, { skipSpecialTokens: true })).toBe(want.decoded_skip_special);
      });
    }
  }

  // Where transformers' slow (legacy Python) tokenizer disagrees, we follow the fast one. The slow one
  // NFC-composes the text first ("Cafe\u0301" -> "Café"), lower-cases whole strings (final sigma "ς")
  // and starts a CJK range at U+2B820 instead of U+2B920.
  it('follows the fast tokenizer where the slow one differs', () => {
    const differing = fixture.cases.flatMap((c) =>
      MODES.filter((m) => c.expected[m].slow_tokens !== undefined).map((m) => [c, m] as const),
    );
    expect(differing.map(([c, m]) => `${c.name}/${m}`)).toEqual([
      'decomposed accent/cased',
      'greek final sigma/lower',
      'ext-e gap/lower',
      'ext-e gap/cased',
    ]);
    for (const [c, m] of differing) {
      const got = tokenizers.get(`${m}/vocab.txt`)!.encode(c.text, c.pair).tokens;
      expect(got).toEqual(c.expected[m].tokens);
      expect(got).not.toEqual(c.expected[m].slow_tokens);
    }
  });

  // Seeded random strings over controls, spaces, combining marks, Hangul, emoji, CJK extensions and
  // arbitrary (also unassigned) code points, with special tokens and words mixed in.
  it('matches on the random strings', () => {
    expect(fixture.random.length).toBeGreaterThanOrEqual(100);
    for (const mode of MODES) {
      for (const source of SOURCES) {
        const tok = tokenizers.get(`${mode}/${source}`)!;
        for (const row of fixture.random) {
          const got = tok.encode(row.text);
          expect({ text: row.text, ids: got.input_ids, offsets: got.offsets }).toEqual({
            text: row.text,
            ids: row[mode].input_ids,
            offsets: row[mode].offsets,
          });
        }
      }
    }
  });

  it.each(fixture.padding.map((p) => [p.text, p] as const))('pads "%s" to max_length', (_text, p) => {
    const tok = tokenizers.get('lower/vocab.txt')!;
    const got = tok.encode(p.text, undefined, { maxLength: p.max_length, padTo: p.max_length });
    expect(got.input_ids).toEqual(p.input_ids);
    expect(got.token_type_ids).toEqual(p.token_type_ids);
    expect(got.attention_mask).toEqual(p.attention_mask);
    expect(got.offsets).toEqual(p.offsets);
  });

  it('pads a batch to its longest member', () => {
    const tok = tokenizers.get('lower/tokenizer.json')!;
    const got = tok.encodeBatch(fixture.batch.texts);
    expect(got.map((e) => e.input_ids)).toEqual(fixture.batch.input_ids);
    expect(got.map((e) => e.token_type_ids)).toEqual(fixture.batch.token_type_ids);
    expect(got.map((e) => e.attention_mask)).toEqual(fixture.batch.attention_mask);
    expect(got.map((e) => e.offsets)).toEqual(fixture.batch.offsets);
  });
});

describe('BertTokenizer API', () => {
  it('exposes bert-base-chinese special ids', () => {
    const tok = tokenizers.get('lower/vocab.txt')!;
    expect([tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId]).toEqual([0, 100, 101, 102, 103]);
    expect(tok.isSpecialId(103)).toBe(true);
    expect(tok.isSpecialId(104)).toBe(false);
  });

  it('both sources load the same vocabulary and settings', () => {
    for (const mode of MODES) {
      const a = tokenizers.get(`${mode}/vocab.txt`)!;
      const b = tokenizers.get(`${mode}/tokenizer.json`)!;
      expect(b.vocab.tokens).toEqual(a.vocab.tokens);
      expect(b.config).toEqual({ ...a.config });
    }
    expect(tokenizers.get('cased/vocab.txt')!.config.doLowerCase).toBe(false);
    expect(tokenizers.get('cased/tokenizer.json')!.config.doLowerCase).toBe(false);
  });

  it('sequence_ids mark the text, the pair and the special tokens', () => {
    const tok = tokenizers.get('lower/vocab.txt')!;
    const enc = tok.encode('你好', '世界', { padTo: 9 });
    expect(enc.sequence_ids).toEqual([null, 0, 0, null, 1, 1, null, null, null]);
    expect(enc.tokens.slice(-2)).toEqual(['[PAD]', '[PAD]']);
  });

  it('encodes without special tokens when asked', () => {
    const tok = tokenizers.get('lower/vocab.txt')!;
    expect(tok.encode('你好', undefined, { addSpecialTokens: false }).tokens).toEqual(['你', '好']);
    expect(tok.encode('你好吗', undefined, { addSpecialTokens: false, maxLength: 2 }).tokens).toEqual(['你', '好']);
  });

  it.each([
    ['maxLength below the special tokens', () => tokenizers.get('lower/vocab.txt')!.encode('你好', undefined, { maxLength: 1 }), /encode: maxLength must be an integer >= 2.*got 1/],
    ['pair maxLength below the special tokens', () => tokenizers.get('lower/vocab.txt')!.encode('你', '好', { maxLength: 2 }), /maxLength must be an integer >= 3.*got 2/],
    ['fractional maxLength', () => tokenizers.get('lower/vocab.txt')!.encode('你', undefined, { maxLength: 2.5 }), /maxLength.*got 2.5/],
    ['negative padTo', () => tokenizers.get('lower/vocab.txt')!.encode('你', undefined, { padTo: -1 }), /padTo must be an integer >= 0, got -1/],
    ['decode of an unknown id', () => tokenizers.get('lower/vocab.txt')!.decode([101, 999999]), /decode: ids must be integers in \[0, \d+\), got 999999/],
    ['maxInputCharsPerWord 0', () => BertTokenizer.fromVocabText(MINI, { maxInputCharsPerWord: 0 }), /BertTokenizer: maxInputCharsPerWord must be an integer >= 1, got 0/],
    ['an empty special token', () => BertTokenizer.fromVocabText(MINI, { padToken: '' }), /BertTokenizer: padToken must be a non-empty string, got ""/],
    ['stripAccents "yes"', () => BertTokenizer.fromVocabText(MINI, { stripAccents: 'yes' as never }), /stripAccents must be true, false or null, got "yes"/],
    ['vocabulary without [MASK]', () => BertTokenizer.fromVocabText('[PAD]\n[UNK]\n[CLS]\n[SEP]\n'), /maskToken "\[MASK\]" is not in the vocabulary/],
  ])('refuses %s', (_name, run, message) => {
    expect(run).toThrow(message);
  });
});

describe('BertTokenizer.fromDirectory / save', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bert-tok-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('save writes the three files transformers reads, and loads back identically', async () => {
    const tok = tokenizers.get('cased/tokenizer.json')!;
    const out = join(dir, 'saved');
    await tok.save(out);
    expect(await readFile(join(out, 'vocab.txt'), 'utf8')).toBe(await readFile(join(FIXTURES, 'bert-zh-cased/vocab.txt'), 'utf8'));
    const config = JSON.parse(await readFile(join(out, 'tokenizer_config.json'), 'utf8'));
    expect(config).toMatchObject({ tokenizer_class: 'BertTokenizer', do_lower_case: false, model_max_length: 512, mask_token: '[MASK]' });
    expect(JSON.parse(await readFile(join(out, 'special_tokens_map.json'), 'utf8'))).toEqual({
      unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]',
    });
    const back = await BertTokenizer.fromDirectory(out);
    expect(back.config).toEqual({ ...tok.config });
    const text = 'Café ÉCOLE 你好，世界！';
    expect(back.encode(text)).toEqual(tok.encode(text));
  });

  it('reads a vocab.txt-only directory with transformers defaults (lower-case)', async () => {
    const only = join(dir, 'vocab-only');
    await BertTokenizer.fromVocabText('[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n').save(only);
    await rm(join(only, 'tokenizer_config.json'));
    await rm(join(only, 'special_tokens_map.json'));
    const tok = await BertTokenizer.fromDirectory(only);
    expect(tok.config.doLowerCase).toBe(true);
    expect(tok.encode('HELLO').tokens).toEqual(['[CLS]', 'hello', '[SEP]']);
  });

  it('reads CRLF vocab files and older {content} special tokens', async () => {
    const d = join(dir, 'crlf');
    await BertTokenizer.fromVocabText('[PAD]\n[UNK]\n[CLS]\n[SEP]\n<mask>\nok\n', { maskToken: '<mask>' }).save(d);
    await writeFile(join(d, 'vocab.txt'), '[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n<mask>\r\nok\r\n');
    await writeFile(join(d, 'tokenizer_config.json'), JSON.stringify({ mask_token: { content: '<mask>', __type: 'AddedToken' }, do_lower_case: false }));
    const tok = await BertTokenizer.fromDirectory(d);
    expect(tok.maskId).toBe(4);
    expect(tok.encode('ok <mask>').tokens).toEqual(['[CLS]', 'ok', '<mask>', '[SEP]']);
  });

  it.each([
    ['an empty directory', async (d: string) => d, /neither tokenizer.json nor vocab.txt/],
    [
      'a RoBERTa tokenizer_config.json',
      async (d: string) => {
        await copyFile(join(FIXTURES, 'bert-zh-lower/vocab.txt'), join(d, 'vocab.txt'));
        await writeFile(join(d, 'tokenizer_config.json'), '{"tokenizer_class": "RobertaTokenizer"}');
        return d;
      },
      /tokenizer_config\.json \(field "tokenizer_class"\): .*got "RobertaTokenizer"/,
    ],
    [
      'a broken tokenizer_config.json',
      async (d: string) => {
        await copyFile(join(FIXTURES, 'bert-zh-lower/vocab.txt'), join(d, 'vocab.txt'));
        await writeFile(join(d, 'tokenizer_config.json'), '{"do_lower_case": "yes"}');
        return d;
      },
      /tokenizer_config\.json \(field "do_lower_case"\): expected true or false, got "yes"/,
    ],
  ])('refuses %s', async (name, setup, message) => {
    const d = join(dir, name.replace(/\W+/g, '-'));
    await rm(d, { recursive: true, force: true });
    await (await import('node:fs/promises')).mkdir(d, { recursive: true });
    await expect(BertTokenizer.fromDirectory(await setup(d))).rejects.toThrow(message);
  });

  it('Vocabulary keeps the last id of a repeated token, like transformers', () => {
    const v = Vocabulary.fromText('a\nb\na\n');
    expect(v.idOf('a')).toBe(2);
    expect(v.size).toBe(3);
  });
});
