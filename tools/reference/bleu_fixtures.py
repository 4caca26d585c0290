#!/usr/bin/env python3
"""sacreBLEU reference scores for @proj/metrics `corpusBleu` (packages/metrics/src/bleu.test.ts).

    python3 -m venv tools/reference/.venv
    tools/reference/.venv/bin/pip install -r tools/reference/requirements.txt
    tools/reference/.venv/bin/python tools/reference/bleu_fixtures.py

Writes packages/metrics/test/fixtures/bleu-sacrebleu.json with, per case, the corpus BLEU
statistics from sacrebleu (score, precisions, bp, sys_len, ref_len, counts, totals), plus the
tokenizer outputs for a list of strings and two character tables the TS tokenizers must agree
with: Python's whitespace set (str.split) and sacrebleu's zh "Chinese character" predicate.
References are stored per sentence (refs[i] lists the references of hyps[i]), the shape
`corpusBleu` takes; sacrebleu takes reference streams, so they are transposed here.
"""
import json
import random
import sys
from pathlib import Path

import sacrebleu
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_zh import TokenizerZh

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "packages/metrics/test/fixtures/bleu-sacrebleu.json"
SEED = 13


def bleu_case(name, hyps, refs, **kwargs):
    n_refs = max(len(r) for r in refs)
    # Missing references are None in sacrebleu's stream layout.
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(n_refs)]
    score = BLEU(**kwargs).corpus_score(hyps, streams)
    return {
        "name": name,
        "options": kwargs,
        "hyps": hyps,
        "refs": refs,
        "expected": {
            "score": score.score,
            "precisions": list(score.precisions),
            "bp": score.bp,
            "sys_len": score.sys_len,
            "ref_len": score.ref_len,
            "counts": list(score.counts),
            "totals": list(score.totals),
        },
    }


def random_corpus(rng, vocab, n, zh):
    """Seeded hypothesis/reference pairs: a reference, then a copy with words dropped, swapped or replaced."""
    join = "".join if zh else " ".join
    hyps, refs = [], []
    for _ in range(n):
        ref = [rng.choice(vocab) for _ in range(rng.randint(3, 18))]
        hyp = list(ref)
        for _ in range(rng.randint(0, 4)):
            op = rng.random()
            i = rng.randrange(len(hyp)) if hyp else 0
            if op < 0.3 and hyp:
                del hyp[i]
            elif op < 0.6:
                hyp.insert(i, rng.choice(vocab))
            elif hyp:
                hyp[i] = rng.choice(vocab)
        second = list(ref)
        rng.shuffle(second[: len(second) // 2])
        if rng.random() < 0.5:
            second = second[1:]
        hyps.append(join(hyp))
        refs.append([join(ref), join(second)])
    return hyps, refs


def main():
    rng = random.Random(SEED)
    en_vocab = "the a cat dog sat on mat , . it is was and of to in 1,000.5 3-4 U.S. (big) \"quoted\" don't e.g. $5".split()
    zh_vocab = list("我们你他她的了在是有不这个人中大为上来到说时要就出会可也着没学校今天气好，。！？“”、") + ["AI", "GPU", "3.14", "1,000", "𠀀"]
    en_hyps, en_refs = random_corpus(rng, en_vocab, 40, zh=False)
    zh_hyps, zh_refs = random_corpus(rng, zh_vocab, 40, zh=True)

    cases = [
        bleu_case("english, one reference",
                  ["The cat sat on the mat.", "It is a nice day today, isn't it?", "He read the book quickly"],
                  [["The cat sat on the mat."], ["It is a very nice day today, isn't it?"], ["He quickly read the book."]]),
        bleu_case("english, two references",
                  ["The cat sat on the mat.", "It is a nice day today, isn't it?", "He read the book quickly"],
                  [["The cat sat on the mat.", "A cat was sitting on the mat."],
                   ["It is a very nice day today, isn't it?", "Today is a nice day, right?"],
                   ["He quickly read the book.", "He read the book fast."]]),
        bleu_case("perfect match",
                  ["The quick brown fox jumps over the lazy dog.", "我们今天去学校。"],
                  [["The quick brown fox jumps over the lazy dog."], ["我们今天去学校。"]]),
        bleu_case("one empty hypothesis",
                  ["", "The quick brown fox jumps over the lazy dog."],
                  [["Nothing here at all."], ["The quick brown fox jumped over a lazy dog."]]),
        bleu_case("all hypotheses empty", ["", ""], [["a b c d"], ["e f"]]),
        bleu_case("short hypotheses (fewer than 4 tokens)",
                  ["the cat", "a dog sat", "yes"],
                  [["the cat sat"], ["a dog sat down"], ["yes"]]),
        bleu_case("numbers and punctuation",
                  ["It costs 1,000.5 dollars, (approx.) -- right?", "Pages 3-4 of the U.S. report; e.g. 2.5% growth.",
                   "He said &quot;no&quot; &amp; left<skipped>.", "Email: a@b.com / http://x.y/z?q=1&r=2"],
                  [["It costs 1,000.5 dollars (approx.), right?"], ["Pages 3-4 of the U.S. report, e.g. 2.5 % growth."],
                   ["He said \"no\" & left."], ["Email: a@b.com / http://x.y/z?q=1&r=2"]]),
        bleu_case("whitespace: tabs, NBSP, ideographic space, trailing spaces",
                  ["  the\tcat  sat\u00a0on the\u3000mat  ", "line one-\nline two"],
                  [["the cat sat on the mat"], ["line oneline two"]]),
        bleu_case("case-sensitive by default", ["The Cat Sat On The Mat"], [["the cat sat on the mat"]]),
        bleu_case("lowercase option", ["The Cat Sat On The Mat"], [["the cat sat on the mat"]], lowercase=True),
        bleu_case("chinese, 13a tokenizer (no CJK split)",
                  ["我们今天去学校，天气很好。", "他说：“这本书很有意思。”"],
                  [["我们今天去学校，天气非常好。"], ["他说：“这本书非常有意思。”"]]),
        bleu_case("chinese, zh tokenizer, one reference",
                  ["我们今天去学校，天气很好。", "他说：“这本书很有意思。”", "价格是1,000.5元，约合$140。", "𠀀字不在中文范围内……"],
                  [["我们今天去学校，天气非常好。"], ["他说：“这本书非常有意思。”"], ["价格为1,000.5元，约合$140。"], ["𠀀字不在中文范围里……"]],
                  tokenize="zh"),
        bleu_case("chinese, zh tokenizer, two references",
                  ["因为冰箱里没什么东西也能做很好吃的菜。", "再说，他们可能以为自己吸烟时给别人带来的不便和不舒服也不会很大。"],
                  [["即使在冰箱里没什么东西也能做很好吃的菜。", "即使在冰箱里没什么东西，也能做很好吃的菜。"],
                   ["再说，他们可能以为自己吸烟时给别人带来的不便和不舒服也不会很大。", "再说，他们可能以为自己吸烟时给别人带来的不便和不舒服也不是很大。"]],
                  tokenize="zh"),
        bleu_case("variable number of references", ["the cat sat on the mat", "a dog"],
                  [["the cat sat on a mat", "there is a cat on the mat"], ["a dog barked"]]),
        # Hypothesis of 5 tokens, references of 4 and 6: equally close, sacrebleu takes 4 (BP 1).
        bleu_case("closest reference length tie goes to the shorter", ["a b c d e"],
                  [["a b c d x y", "a b c d"]]),
        bleu_case("no smoothing", ["the cat", "a dog sat on"], [["the cat sat"], ["a dog sat on it"]], smooth_method="none"),
        bleu_case("seeded english corpus, two references", en_hyps, en_refs),
        bleu_case("seeded chinese corpus, zh tokenizer, two references", zh_hyps, zh_refs, tokenize="zh"),
    ]

    tok13a, tokzh = Tokenizer13a(), TokenizerZh()
    strings = [
        "Hello, world! (test) [x] {y} ~z~ `q` a@b #1 $2 %3 ^4 &5 *6 +7 =8 |9 \\10 /11 :12 ;13 <14> ?15",
        "1,000.5 and 3-4 and x-y and 3.14. A.B, c.d e,f 1.a a.1 -5 5- ,5 5,",
        "&quot;a&quot; &amp; &lt;b&gt; <skipped>x -\ny\nz",
        "  lead and trail  ",
        "我们今天去学校，天气很好。He said “ok”… 𠀀 ㄅㄆ ｆｕｌｌ Ｗｉｄｔｈ ☀✈ ㈠ ㎏",
        "価格は1,000円です。한국어 텍스트",
        "",
    ]
    tokenizers = [{"input": s, "13a": tok13a(s), "zh": tokzh(s)} for s in strings]

    whitespace = [c for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    chinese, start = [], None
    for c in range(sys.maxunicode + 2):
        inside = c <= sys.maxunicode and tokzh._is_chinese_char(chr(c))
        if inside and start is None:
            start = c
        elif not inside and start is not None:
            chinese.append([start, c - 1])
            start = None

    fixture = {
        "generator": "tools/reference/bleu_fixtures.py",
        "sacrebleu_version": sacrebleu.__version__,
        "python_version": sys.version.split()[0],
        "cases": cases,
        "tokenizers": tokenizers,
        "python_whitespace": whitespace,
        "zh_chinese_ranges": chinese,
    }
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} with sacrebleu {sacrebleu.__version__}: {len(cases)} cases")
    for c in cases:
        print(f"  {c['expected']['score']:8.4f}  {c['name']}")


if __name__ == "__main__":
    main()
