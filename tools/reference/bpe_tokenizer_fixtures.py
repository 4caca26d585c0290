#!/usr/bin/env python3
"""Python `tokenizers` references for @proj/models `BpeTokenizer` (packages/models/src/tokenizers/).

    tools/reference/.venv/bin/python tools/reference/bpe_tokenizer_fixtures.py

Reads the bundled minimind tokenizer (apps/mateconv/data/tokenizers/minimind/, see the PROVENANCE.md
there) and writes packages/models/test/fixtures/bpe/minimind-cases.json:
  encode   hand-picked Chinese / English / emoji / whitespace / control-character / special-token
           texts and 60 seeded lines of the bundled Wikipedia corpus: ids, tokens, and the decode
           of those ids with and without special tokens;
  decode   seeded random id sequences (they split multi-byte characters) and their decode;
  chat     conversations rendered by the tokenizer_config.json chat template with jinja2, set up as
           transformers' apply_chat_template does (ImmutableSandboxedEnvironment, trim_blocks,
           lstrip_blocks, a tojson filter), and the ids of the rendered text.
Needs `tokenizers` and `jinja2` (versions recorded in the file). Deterministic: rerunning leaves the
file unchanged.
"""
import json
import random
from pathlib import Path

import jinja2
import jinja2.ext
import tokenizers
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER_DIR = ROOT / 'apps/mateconv/data/tokenizers/minimind'
CORPUS = ROOT / 'apps/gap-relm/data/corpus/wiki.zh-cn.txt'
OUT = ROOT / 'packages/models/test/fixtures/bpe/minimind-cases.json'

TEXTS = [
    '',
    ' ',
    '你好，世界！',
    'Hello, world!',
    '  two leading spaces, and trailing  ',
    'tabs\tand\nnewlines\r\nand CRLF',
    '\n\n\n',
    '混合 mixed 文本 with English words 和中文。',
    '数字 1234567890 和 3.14159，以及 -42。',
    'emoji 😀👍🏽 and a family 👨‍👩‍👧 and flags 🇨🇳',
    '全角：ＡＢＣ１２３，半角：ABC123',
    '日本語のテキスト、한국어 텍스트, العربية',
    '罕见字 𠀀𪚥 (CJK Extension B)',
    'combining: e\u0301 a\u0308 \u00e9',
    'zero\u200bwidth\u200cjoiner\u200d',
    'control\u0007bell and \u001b[0m escape',
    '<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n',
    '<|endoftext|>文档之间<|endoftext|>',
    'not special: <|im_start without end, <tts_pad>',
    "code: def f(x):\n    return x ** 2  # square\n",
    'URL https://example.org/path?q=1&r=2 and e-mail a.b@example.org',
    '   ',
    'ＡＩ时代的“引号”和‘单引号’……——破折号',
    '床前明月光，疑是地上霜。举头望明月，低头思故乡。',
]

CHATS = [
    {'messages': [{'role': 'user', 'content': '你好'}], 'add_generation_prompt': True},
    {'messages': [{'role': 'user', 'content': '你好'}], 'add_generation_prompt': False},
    {
        'messages': [
            {'role': 'system', 'content': '你是一个有用的助手。'},
            {'role': 'user', 'content': '1+1等于几？'},
            {'role': 'assistant', 'content': '等于2。'},
            {'role': 'user', 'content': 'Why?'},
        ],
        'add_generation_prompt': True,
    },
    {
        'messages': [
            {'role': 'user', 'content': '写一首诗'},
            {'role': 'assistant', 'content': '<think>\n想一想\n</think>\n\n床前明月光'},
        ],
        'add_generation_prompt': False,
    },
    {'messages': [{'role': 'user', 'content': '想一想'}], 'add_generation_prompt': True, 'open_thinking': True},
]


def render_chat(template_source, special, case):
    # As transformers' apply_chat_template: sandboxed, trim_blocks and lstrip_blocks, tojson.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters['tojson'] = lambda x, indent=None, separators=None, sort_keys=False: json.dumps(
        x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)
    variables = {k: v for k, v in case.items() if k != 'messages'}
    return env.from_string(template_source).render(messages=case['messages'], **special, **variables)


def main():
    tok = Tokenizer.from_file(str(TOKENIZER_DIR / 'tokenizer.json'))
    config = json.loads((TOKENIZER_DIR / 'tokenizer_config.json').read_text(encoding='utf8'))
    rng = random.Random(13)

    corpus = [line for line in CORPUS.read_text(encoding='utf8').split('\n') if line]
    texts = TEXTS + rng.sample(corpus, 60)
    encode = []
    for text in texts:
        enc = tok.encode(text)
        encode.append({
            'text': text,
            'ids': enc.ids,
            'tokens': enc.tokens,
            'decoded': tok.decode(enc.ids, skip_special_tokens=False),
            'decoded_skip_special': tok.decode(enc.ids, skip_special_tokens=True),
        })

    vocab = tok.get_vocab_size(with_added_tokens=True)
    decode = []
    for _ in range(20):
        ids = [rng.randrange(vocab) for _ in range(rng.randrange(1, 24))]
        decode.append({
            'ids': ids,
            'decoded': tok.decode(ids, skip_special_tokens=False),
            'decoded_skip_special': tok.decode(ids, skip_special_tokens=True),
        })

    special = {f'{role}_token': config[f'{role}_token'] for role in ('bos', 'eos', 'pad', 'unk')}
    chat = []
    for case in CHATS:
        text = render_chat(config['chat_template'], special, case)
        chat.append({**case, 'rendered': text, 'ids': tok.encode(text, add_special_tokens=False).ids})

    OUT.parent.mkdir(parents=True, exist_ok=True)
    data = {
        'made_by': 'tools/reference/bpe_tokenizer_fixtures.py',
        'tokenizer': 'apps/mateconv/data/tokenizers/minimind',
        'versions': {'tokenizers': tokenizers.__version__, 'jinja2': jinja2.__version__},
        'vocab_size': vocab,
        'encode': encode,
        'decode': decode,
        'chat': chat,
    }
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=1) + '\n', encoding='utf8')
    print(f'wrote {OUT.relative_to(ROOT)}: {len(encode)} encode, {len(decode)} decode, {len(chat)} chat cases')


if __name__ == '__main__':
    main()
