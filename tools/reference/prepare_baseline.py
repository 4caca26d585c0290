#!/usr/bin/env python3
"""The Python baseline of tools/bench/prepare.ts: what `mateconv prepare` does, in plain Python
with `tokenizers` (encode_batch on the Rust library's own threads) and the standard library.

    tools/reference/.venv/bin/python tools/reference/prepare_baseline.py --input corpus.jsonl --tokenizer DIR --output-dir OUT

Reads JSONL {"text": ...}, skips bad JSON, non-objects, missing / non-string / empty fields,
control characters, U+FFFD and lone surrogates (counted), drops exact duplicates (sha256 of the
cleaned text), encodes in batches of 2,048 documents, wraps each in BOS ... EOS and writes
tokens.bin (uint16) and index.bin (uint64 offsets) as the TS packer does, so the bench can compare
the bytes. Prints one JSON line: documents, tokens, rejects, duplicates, seconds.
"""
import argparse
import hashlib
import json
import re
import time
from array import array
from pathlib import Path

from tokenizers import Tokenizer

CONTROL = re.compile('[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]')
SURROGATE = re.compile('[\ud800-\udfff]')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--input', required=True)
    parser.add_argument('--tokenizer', required=True)
    parser.add_argument('--output-dir', required=True)
    parser.add_argument('--field', default='text')
    args = parser.parse_args()
    start = time.perf_counter()
    tok = Tokenizer.from_file(str(Path(args.tokenizer) / 'tokenizer.json'))
    config = json.loads((Path(args.tokenizer) / 'tokenizer_config.json').read_text(encoding='utf8'))
    bos, eos = tok.token_to_id(config['bos_token']), tok.token_to_id(config['eos_token'])
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    seen, batch = set(), []
    rejects = duplicates = documents = 0
    tokens = array('H')
    offsets = array('Q', [0])

    def flush():
        nonlocal documents
        for enc in tok.encode_batch(batch, add_special_tokens=False):
            tokens.append(bos)
            tokens.extend(enc.ids)
            tokens.append(eos)
            offsets.append(len(tokens))
            documents += 1
        batch.clear()

    with open(args.input, encoding='utf8', errors='replace') as f:
        for line in f:
            try:
                record = json.loads(line)
            except ValueError:
                rejects += 1
                continue
            text = record.get(args.field) if isinstance(record, dict) else None
            if not isinstance(text, str) or '\ufffd' in text or SURROGATE.search(text) or CONTROL.search(text):
                rejects += 1
                continue
            text = text.replace('\r\n', '\n').replace('\r', '\n').strip()
            if not text:
                rejects += 1
                continue
            key = hashlib.sha256(text.encode('utf8')).digest()[:16]
            if key in seen:
                duplicates += 1
                continue
            seen.add(key)
            batch.append(text)
            if len(batch) == 2048:
                flush()
    flush()
    (out / 'tokens.bin').write_bytes(tokens.tobytes())
    (out / 'index.bin').write_bytes(offsets.tobytes())
    seconds = time.perf_counter() - start
    print(json.dumps({'documents': documents, 'tokens': len(tokens), 'rejects': rejects, 'duplicates': duplicates, 'seconds': seconds}))


if __name__ == '__main__':
    main()
