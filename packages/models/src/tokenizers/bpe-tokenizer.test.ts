import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BpeTokenizer } from './bpe-tokenizer';
import type { ChatMessage } from './chat-template';

// The minimind tokenizer bundled with the mateconv app (see apps/mateconv/data/PROVENANCE.md) and
// the Python `tokenizers` / jinja2 outputs made by tools/reference/bpe_tokenizer_fixtures.py.
const MINIMIND = fileURLToPath(new URL('../../../../apps/mateconv/data/tokenizers/minimind/', import.meta.url));
const CASES = fileURLToPath(new URL('../../test/fixtures/bpe/minimind-cases.json', import.meta.url));

interface Cases {
  vocab_size: number;
  encode: { text: string; ids: number[]; tokens: string[]; decoded: string; decoded_skip_special: string }[];
  decode: { ids: number[]; decoded: string; decoded_skip_special: string }[];
  chat: { messages: ChatMessage[]; add_generation_prompt: boolean; open_thinking?: boolean; rendered: string; ids: number[] }[];
}
const cases = JSON.parse(readFileSync(CASES, 'utf8')) as Cases;
const tok = await BpeTokenizer.fromDirectory(MINIMIND);

describe('BpeTokenizer on minimind, against Python tokenizers', () => {
  it('reads the vocabulary and the special tokens of tokenizer_config.json', () => {
    expect(tok.vocabSize).toBe(cases.vocab_size);
    expect(tok.vocabSize).toBe(6400);
    expect(tok.special).toEqual({
      bos: { token: '<|im_start|>', id: 1 },
      eos: { token: '<|im_end|>', id: 2 },
      pad: { token: '<|endoftext|>', id: 0 },
      unk: { token: '<|endoftext|>', id: 0 },
    });
    expect(tok.specialIds.size).toBe(21); // of the 36 added tokens, 21 are marked special
    expect(tok.tokenToId('<|im_end|>')).toBe(2);
    expect(tok.idToToken(2)).toBe('<|im_end|>');
    expect(tok.tokenToId('not a token')).toBeUndefined();
  });

  it.each(cases.encode.map((c) => [JSON.stringify(c.text).slice(0, 40), c] as const))('encode %s', async (_, c) => {
    const ids = await tok.encode(c.text);
    expect(ids).toEqual(c.ids);
    expect(ids.map((id) => tok.idToToken(id))).toEqual(c.tokens);
    expect(await tok.decode(ids)).toBe(c.decoded);
    expect(await tok.decode(ids, { skipSpecialTokens: true })).toBe(c.decoded_skip_special);
  });

  it('encodeBatch and decodeBatch give the single-text results in order', async () => {
    const texts = cases.encode.map((c) => c.text);
    expect(await tok.encodeBatch(texts)).toEqual(cases.encode.map((c) => c.ids));
    expect(await tok.decodeBatch(cases.encode.map((c) => c.ids))).toEqual(cases.encode.map((c) => c.decoded));
    expect(await tok.encodeBatch([])).toEqual([]);
  });

  it('decodes arbitrary id sequences (split multi-byte characters) as Python does', async () => {
    for (const c of cases.decode) {
      expect(await tok.decode(c.ids)).toBe(c.decoded);
      expect(await tok.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded_skip_special);
    }
  });

  it('round-trips text without special tokens: decode(encode(t)) = t', async () => {
    for (const c of cases.encode.filter((c) => !c.text.includes('<|'))) {
      expect(await tok.decode(await tok.encode(c.text))).toBe(c.text);
    }
  });

  it('renders the chat template as jinja2 does in transformers, and encodes it', async () => {
    for (const c of cases.chat) {
      const options = {
        addGenerationPrompt: c.add_generation_prompt,
        variables: c.open_thinking === undefined ? {} : { open_thinking: c.open_thinking },
      };
      expect(tok.applyChatTemplate(c.messages, options)).toBe(c.rendered);
      expect(await tok.encodeChat(c.messages, options)).toEqual(c.ids);
    }
  });

  it('names the function and the value on bad input', async () => {
    await expect(tok.decode([1, 6400])).rejects.toThrow('BpeTokenizer.decode: id must be an integer in [0, 6400), got 6400');
    await expect(tok.decode([-1])).rejects.toThrow(RangeError);
    expect(() => tok.applyChatTemplate([])).toThrow('ChatTemplate.render: messages must not be empty');
  });

  it('reports a missing tokenizer.json and a config whose special token is unknown', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bpe-'));
    try {
      await expect(BpeTokenizer.fromDirectory(dir)).rejects.toThrow(`no tokenizer.json in ${dir}`);
      expect(() => BpeTokenizer.fromJson(tok.tokenizerJson, { eos_token: '<eos>' })).toThrow(
        'tokenizer_config.json eos_token "<eos>" is not in the vocabulary',
      );
      await writeFile(join(dir, 'tokenizer.json'), tok.tokenizerJson);
      const bare = await BpeTokenizer.fromDirectory(dir);
      expect(bare.special).toEqual({});
      expect(bare.chatTemplate).toBeUndefined();
      expect(() => bare.applyChatTemplate([{ role: 'user', content: 'x' }])).toThrow('has no chat_template');
      expect(() => BpeTokenizer.fromJson('{"model": 3}')).toThrow('BpeTokenizer: tokenizer.json: cannot load');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
