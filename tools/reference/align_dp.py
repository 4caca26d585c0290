#!/usr/bin/env python3
"""Baseline for tools/bench/align.ts: a plain Levenshtein DP with backtrace in pure Python.

Reads `n_errors TAB source TAB target` (or `source TAB target`) pairs, repeats them to
--pairs, aligns each pair per character (code point) with a full (n+1)x(m+1) table of lists
and a backtrace, and prints one JSON line: {"pairs", "seconds", "pairs_per_s", "python"}.
No prefix/suffix trimming or other tricks: this is the straightforward version.
"""
import argparse
import json
import platform
import sys
import time


def align(a, b):
    n, m = len(a), len(b)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        ai = a[i - 1]
        row, prev = d[i], d[i - 1]
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + (ai != b[j - 1]), prev[j] + 1, row[j - 1] + 1)
    # Backtrace with the same preference as alignTokens: diagonal, then delete, then insert.
    steps = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i][j] == d[i - 1][j - 1] + (a[i - 1] != b[j - 1]):
            i, j = i - 1, j - 1
            steps.append(('keep' if a[i] == b[j] else 'replace', i, j))
        elif i > 0 and d[i][j] == d[i - 1][j] + 1:
            i -= 1
            steps.append(('delete', i, None))
        else:
            j -= 1
            steps.append(('insert', None, j))
    steps.reverse()
    return d[n][m], steps


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--input', required=True)
    parser.add_argument('--pairs', type=int, default=5000)
    args = parser.parse_args()
    base = []
    with open(args.input, encoding='utf-8') as f:
        for line in f:
            fields = line.rstrip('\n').split('\t')
            if len(fields) >= 2:
                base.append((list(fields[-2]), list(fields[-1])))
    if not base:
        sys.exit(f'align_dp.py: no pairs in {args.input}')
    pairs = [base[k % len(base)] for k in range(args.pairs)]
    start = time.perf_counter()
    total = 0
    for a, b in pairs:
        total += align(a, b)[0]
    seconds = time.perf_counter() - start
    print(json.dumps({
        'pairs': len(pairs),
        'seconds': seconds,
        'pairs_per_s': len(pairs) / seconds,
        'edits': total,
        'python': platform.python_version(),
    }))


if __name__ == '__main__':
    main()
