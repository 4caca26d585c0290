#!/usr/bin/env python3
"""Python `tokenizers` encode throughput, the baseline of tools/bench/tokenizer.ts.

    tools/reference/.venv/bin/python tools/reference/tokenizer_bench.py --tokenizer DIR/tokenizer.json --input FILE --lines N

Encodes the first N non-empty lines of FILE (repeated when shorter) one call per line, then in one
encode_batch call (the Rust library's own threads), after a warm-up pass over 1,000 lines. Prints
one JSON line: tokens, per-run seconds and the library version.
"""
import argparse
import json
import time

import tokenizers
from tokenizers import Tokenizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--tokenizer', required=True)
    parser.add_argument('--input', required=True)
    parser.add_argument('--lines', type=int, default=20000)
    args = parser.parse_args()
    tok = Tokenizer.from_file(args.tokenizer)
    base = [line for line in open(args.input, encoding='utf8').read().split('\n') if line]
    lines = [base[i % len(base)] for i in range(args.lines)]
    for line in lines[:1000]:
        tok.encode(line, add_special_tokens=False)

    start = time.perf_counter()
    tokens = sum(len(tok.encode(line, add_special_tokens=False).ids) for line in lines)
    single = time.perf_counter() - start

    start = time.perf_counter()
    batch_tokens = sum(len(e.ids) for e in tok.encode_batch(lines, add_special_tokens=False))
    batch = time.perf_counter() - start
    assert batch_tokens == tokens
    print(json.dumps({'tokens': tokens, 'single_seconds': single, 'batch_seconds': batch, 'tokenizers': tokenizers.__version__}))


if __name__ == '__main__':
    main()
