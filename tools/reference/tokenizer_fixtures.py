#!/usr/bin/env python3
"""Hugging Face BERT tokenizer references for @proj/models `BertTokenizer` (packages/models/src/tokenizers/).

    tools/reference/.venv/bin/python tools/reference/tokenizer_fixtures.py            # fixtures + tables
    tools/reference/.venv/bin/python tools/reference/tokenizer_fixtures.py --verify-char-vocab

Writes, under packages/models/test/fixtures/tokenizers/:
  bert-zh-lower/, bert-zh-cased/  a small bert-base-chinese-like checkpoint directory each
                                  (vocab.txt, tokenizer_config.json, special_tokens_map.json and the
                                  tokenizer.json of transformers' fast BertTokenizer, compact JSON);
  cases.json                      ~90 table cases encoded by the FAST tokenizer (tokens, ids,
                                  token_type_ids, attention_mask, code-point offsets, decode with and
                                  without special tokens), for both directories, plus padding and
                                  batch cases, a truncation-length table and where the slow
                                  (legacy, pure Python) tokenizer disagrees;
and packages/models/src/tokenizers/bert-unicode-tables.ts: the character classes the Rust
`tokenizers` BertNormalizer / BertPreTokenizer use (they come from an older Unicode than Node's ICU),
measured code point by code point.

`--verify-char-vocab` runs the TS test that writes packages/models/test/fixtures/tokenizers/char-vocab/
(TS `buildCharVocab` + `BertTokenizer.save`), compares its vocab.txt with an independent Python build
(`reference_char_vocab`), loads the directory with
`transformers.BertTokenizer.from_pretrained` (and the legacy slow class), and writes the verdict to
char-vocab/python-verdict.json. The TS test then checks that it still writes exactly those bytes.

Deterministic: rerunning leaves every file unchanged.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata
from collections import Counter
from pathlib import Path

import tokenizers
import transformers
from tokenizers import normalizers, pre_tokenizers
from transformers import BertTokenizer, BertTokenizerLegacy

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "packages/models/test/fixtures/tokenizers"
TABLES = ROOT / "packages/models/src/tokenizers/bert-unicode-tables.ts"
CORPUS = ROOT / "apps/gap-relm/data/corpus/wiki.zh-cn.txt"
SIGHAN = ROOT / "apps/gap-relm/data/sighan/sighan15-test.txt"
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

# ASCII words and word pieces, some cased, so both directories have something to split.
WORDS = """the of and to in is was for on that with as by at from it an be this are or his which
hello world good morning run ##ning jump ##ed walk ##ing ##s ##er ##ly ##est play ##ful un ##able
bert model token ##izer ##ization data set test ##ed python java script ##script type
cafe ##fe ca école ecole ##cole naive resume ##sume ##ume re ##s ##é é ##e
iphone ##phone phone email example com www http https ##tp github gpt ##t covid ##id
apple google microsoft china beijing shanghai taiwan hong kong
istanbul ##tan ##bul straße ##ße ##e
Hello World Good The BERT GPT Café ÉCOLE ##COLE ##OLE É ##É C ##af ##é Apple China iPhone I ##Phone
a ##a b ##b c ##c x ##x n ##n i ##i
0 1 2 3 4 5 6 7 8 9 ##0 ##1 ##2 ##3 ##4 ##5 ##6 ##7 ##8 ##9 10 19 20 100 2019 2020 2021 1998 ##19 ##20 ##00
##的 ##是 ##了 ##不 ##人 ##一 ##国 ##中
ｈｅｌｌｏ ##ｌｏ ｈｅｌ ##ｌ ##ｏ ａｂｃ ##ｂ ##ｃ ａ １２３ ##２ ##３ １ ＡＢＣ Ａ ##Ｂ ##Ｃ
ᄒ ##ᅡ ##ᆫ ##ᄀ ##ᅮ ##ᆨ ##ᄋ ##ᅥ 한 ##국 ##어 の テ ##キ ##ス ##ト ##の ##テ
σ ##ι ##σ ##υ ##φ ##ο ##ς Σ ##Ί ##Σ ##Υ ##Φ ##Ο
न ##म ##स ##त ##े ##्
""".split()

# Cases: (name, text, pair, max_length). Chinese lines from the corpus and SIGHAN are added below.
HAND_CASES = [
    ("empty", "", None, None),
    ("spaces only", "   ", None, None),
    ("nul only", "\u0000", None, None),
    ("mixed zh en digits", "我在2019年用iPhone发了hello world", None, None),
    ("model names", "GPT-4和BERT模型的tokenization", None, None),
    ("price", "价格是3.14元，约$0.5", None, None),
    ("email", "email: test@example.com", None, None),
    ("covid", "COVID-19疫情", None, None),
    ("chapter", "第1章 Hello,World!", None, None),
    ("wordpieces", "running jumped walking playful unable", None, None),
    ("cafe ecole", "Café ÉCOLE", None, None),
    ("decomposed accent", "Cafe\u0301 e\u0301cole", None, None),
    ("naive resume", "naïve résumé", None, None),
    ("angstrom", "Ångström", None, None),
    ("istanbul dotted I", "İstanbul", None, None),
    ("greek final sigma", "ΣΊΣΥΦΟΣ σίσυφος", None, None),
    ("sharp s", "Straße STRASSE", None, None),
    ("fi ligature", "ﬁle ﬂow", None, None),
    ("full-width punct", "你好，世界！", None, None),
    ("brackets", "（括号）【测试】「引号」《书名》", None, None),
    ("full-width letters", "ＡＢＣ１２３ ｈｅｌｌｏ", None, None),
    ("ellipsis dash", "等等……——～·", None, None),
    ("emoji between", "我😀你", None, None),
    ("ext-b chars", "𠀀𠀁𪜀", None, None),
    ("ext-b in word", "a𠀀b", None, None),
    ("ext-e gap", "a\U0002B820b 中\U0002B820文", None, None),  # slow treats U+2B820..2B91F as CJK, fast does not
    ("emoji skin tone", "👍🏽 good", None, None),
    ("zwj family", "👨\u200d👩\u200d👧", None, None),
    ("emoji unicode 11", "a🥰b", None, None),
    ("nul inside", "你\u0000好", None, None),
    ("bell", "a\u0007b", None, None),
    ("replacement char", "坏\ufffd字", None, None),
    ("zero width space", "零\u200b宽", None, None),
    ("bom", "\ufeffBOM开头", None, None),
    ("soft hyphen", "hy\u00adphen", None, None),
    ("tabs newlines", "a\tb\nc\r\nd", None, None),
    ("ideographic space", "\u3000全角\u3000空格", None, None),
    ("nbsp", "100\u00a0元", None, None),
    ("leading trailing", "   leading and trailing   ", None, None),
    ("line separator", "一\u2028二\u2029三\u0085四", None, None),
    ("vertical tab form feed", "x\u000by\u000cz", None, None),
    ("long word 100", "a" * 100, None, None),
    ("long word 101", "a" * 101, None, None),
    ("long unk word", "x" * 150 + " ok", None, None),
    ("long accented word", "é" * 101, None, None),
    ("special in text", "你[MASK]好", None, None),
    ("special literal", "[CLS] hello [SEP]", None, None),
    ("special lower", "[mask] 好", None, None),
    ("unused literal", "[unused1]", None, None),
    ("hangul", "한국어", None, None),
    ("japanese", "日本語のテキスト", None, None),
    ("devanagari", "नमस्ते", None, None),
    ("thai", "ภาษาไทย", None, None),
    ("numbers", "1234567 3.14159 10% 2020-2021", None, None),
    ("cjk compatibility", "豈更車", None, None),
    ("ascii punct run", "!!??..,,;;::''\"\"``~~", None, None),
    ("unk chars", "㐀龘鿿", None, None),
    ("pair zh", "你好吗？", "我很好。", None),
    ("pair en", "hello world", "good morning", None),
    ("pair empty first", "", "你好", None),
    ("truncate single", "中华人民共和国第三届国防委员会委员。", None, 8),
    ("truncate single exact", "你好", None, 4),
    ("truncate single to specials", "你好你好", None, 2),
    ("truncate pair long first", "中华人民共和国第三届国防委员会委员。", "你好", 10),
    ("truncate pair long second", "你好", "中华人民共和国第三届国防委员会委员。", 10),
    ("truncate pair both long", "中华人民共和国第三届国防委员会委员。", "美国海军天文台也在塔斯马尼亚岛", 11),
    ("truncate pair equal", "一二三四五六", "七八九十百千", 9),
    ("truncate wordpieces", "running jumped walking", None, 5),
]


def top_chars(n):
    counts = Counter()
    with open(CORPUS, encoding="utf-8") as f:
        for line in f:
            counts.update(c for c in line if ord(c) > 127 and not c.isspace())
    return [c for c, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def build_fixture_vocab():
    vocab = ["[PAD]"] + [f"[unused{i}]" for i in range(1, 100)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "<S>", "<T>"]
    vocab += [chr(c) for c in range(33, 127)]
    vocab += top_chars(3000)
    vocab += WORDS
    seen, out = set(), []
    for t in vocab:  # A duplicate line would shadow an id; keep the first.
        if t not in seen:
            seen.add(t)
            out.append(t)
    assert out.index("[UNK]") == 100 and out.index("[MASK]") == 103
    return out


def write_json(path, obj, compact=False):
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) if compact else json.dumps(obj, ensure_ascii=False, indent=1)
    path.write_text(text + "\n", encoding="utf-8")


def write_lines_json(path, obj):
    """Compact JSON with one list item per line: small, yet diffs stay readable."""
    dump = lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    parts = []
    for key, value in obj.items():
        if isinstance(value, list):
            inner = ",\n  ".join(dump(v) for v in value)
            parts.append(f"{dump(key)}:[\n  {inner}\n]")
        else:
            parts.append(f"{dump(key)}:{dump(value)}")
    path.write_text("{\n" + ",\n".join(parts) + "\n}\n", encoding="utf-8")


def make_checkpoint(name, vocab, lower):
    d = OUT / name
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "vocab.txt").write_text("".join(t + "\n" for t in vocab), encoding="utf-8")
    write_json(d / "tokenizer_config.json", {
        "do_lower_case": lower, "tokenize_chinese_chars": True, "strip_accents": None, "model_max_length": 512,
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
        "tokenizer_class": "BertTokenizer",
    })
    write_json(d / "special_tokens_map.json", {
        "unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]",
    })
    fast = BertTokenizer.from_pretrained(str(d))
    assert fast.do_lower_case == lower
    # The fast tokenizer's own serialisation, compact to keep the fixture small.
    (d / "tokenizer.json").write_text(fast.backend_tokenizer.to_str() + "\n", encoding="utf-8")
    slow = BertTokenizerLegacy.from_pretrained(str(d))
    return fast, slow


def encode_case(fast, slow, text, pair, max_length):
    kwargs = {"return_offsets_mapping": True}
    if max_length is not None:
        kwargs.update(truncation=True, max_length=max_length)
    # transformers treats an empty pair string as "no pair" (Python truthiness); the cases avoid it.
    enc = fast(text, pair, **kwargs)
    ids = enc["input_ids"]
    out = {
        "input_ids": ids,
        "token_type_ids": enc["token_type_ids"],
        "attention_mask": enc["attention_mask"],
        "tokens": fast.convert_ids_to_tokens(ids),
        "offsets": [list(o) for o in enc["offset_mapping"]],
        "decoded": fast.decode(ids),
        "decoded_skip_special": fast.decode(ids, skip_special_tokens=True),
    }
    slow_ids = slow(text, pair, **({"truncation": True, "max_length": max_length} if max_length else {}))["input_ids"]
    if slow_ids != ids:
        out["slow_tokens"] = slow.convert_ids_to_tokens(slow_ids)
    return out


def corpus_cases():
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    picked = [lines[i] for i in range(7, len(lines), 3000)][:14]
    cases = [(f"corpus {i}", t, None, None) for i, t in enumerate(picked)]
    rows = [r.split("\t") for r in SIGHAN.read_text(encoding="utf-8").splitlines()]
    wrong = [r for r in rows if r[0] == "1"][::97][:6]
    for i, r in enumerate(wrong):
        cases.append((f"sighan {i} source", r[1], None, None))
        cases.append((f"sighan {i} target", r[2], None, None))
    cases.append(("sighan pair", wrong[0][1], wrong[0][2], None))
    return cases


def truncation_table(fast):
    """Kept lengths of (A, B) under longest_first, with A and B made of in-vocabulary chars."""
    rows = []
    for n1 in range(1, 9):
        for n2 in range(1, 9):
            for m in (3, 4, 5, 6, 7, 8, 9, 10, 13):
                ids = fast("你" * n1, "好" * n2, truncation=True, max_length=m)["input_ids"]
                a, b = fast.convert_tokens_to_ids(["你", "好"])
                rows.append([n1, n2, m, ids.count(a), ids.count(b)])
    return rows


def random_cases(dirs, n=160, seed=20261126):
    """Seeded random strings over awkward code points; ids and offsets from both fast tokenizers."""
    rng = random.Random(seed)
    pools = [
        lambda: chr(rng.randrange(32, 127)),
        lambda: chr(rng.randrange(0xA0, 0x250)),
        lambda: chr(rng.randrange(0x300, 0x370)),  # combining marks
        lambda: chr(rng.randrange(0x4E00, 0x4F00)),
        lambda: rng.choice(["hello", "running", "Café", "ÉCOLE", "2019", "iPhone", "[MASK]", "[SEP]", "##a"]),
        lambda: rng.choice(" \t\n\r\u3000\u00a0\u2028\u0085\u000b\u200b\ufeff\u0000\ufffd\u00ad"),
        lambda: chr(rng.randrange(0xAC00, 0xAC40)),
        lambda: chr(rng.randrange(0x1F300, 0x1FAFF)),
        lambda: chr(rng.randrange(0x20000, 0x2CEB0)),
        lambda: chr(rng.choice([rng.randrange(0, 0xD800), rng.randrange(0xE000, 0x30000)])),  # anything
    ]
    out = []
    for _ in range(n):
        text = "".join(rng.choice(pools)() for _ in range(rng.randrange(1, 10)))
        row = {"text": text}
        for key, (fast, _slow) in dirs.items():
            enc = fast(text, return_offsets_mapping=True)
            row[key] = {"input_ids": enc["input_ids"], "offsets": [list(o) for o in enc["offset_mapping"]]}
        out.append(row)
    return out


def padding_cases(fast):
    out = []
    for text, length in (("你好", 8), ("hello world", 6), ("中华人民共和国", 5)):
        enc = fast(text, padding="max_length", truncation=True, max_length=length, return_offsets_mapping=True)
        out.append({"text": text, "max_length": length, "input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
                    "attention_mask": enc["attention_mask"], "offsets": [list(o) for o in enc["offset_mapping"]]})
    return out


def batch_case(fast):
    texts = ["你好", "hello world 你好吗", "", "中华人民共和国第三届"]
    enc = fast(texts, padding=True, return_offsets_mapping=True)
    return {"texts": texts, "input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
            "attention_mask": enc["attention_mask"], "offsets": [[list(o) for o in row] for row in enc["offset_mapping"]]}


def ranges(pred):
    out, start = [], None
    for cp in range(0x110001):
        on = cp <= 0x10FFFF and not (0xD800 <= cp <= 0xDFFF) and pred(cp)
        if on and start is None:
            start = cp
        elif not on and start is not None:
            out.append((start, cp - 1))
            start = None
    return out


def write_unicode_tables():
    """Measures, per code point, what the Rust BertNormalizer/BertPreTokenizer do."""
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    cjk = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    pre = pre_tokenizers.BertPreTokenizer()
    removed = ranges(lambda cp: clean.normalize_str(chr(cp)) == "")
    to_space = ranges(lambda cp: cp != 32 and clean.normalize_str(chr(cp)) == " ")
    # Non-spacing marks: code points that NFD leaves alone and strip_accents deletes.
    marks = ranges(lambda cp: unicodedata.normalize("NFD", chr(cp)) == chr(cp) and strip.normalize_str(chr(cp)) == "")
    punct = ranges(lambda cp: len(pre.pre_tokenize_str("a" + chr(cp) + "a")) == 3)
    split_ws = ranges(lambda cp: len(pre.pre_tokenize_str("a" + chr(cp) + "a")) == 2)
    chinese = ranges(lambda cp: cjk.normalize_str(chr(cp)) == " " + chr(cp) + " ")

    def fmt(name, doc, rs):
        body = ",".join(f"0x{a:x},0x{b:x}" for a, b in rs)
        return f"/** {doc} ({len(rs)} ranges). */\nexport const {name}: readonly number[] = [{body}];\n"

    text = (
        "// Generated by tools/reference/tokenizer_fixtures.py from Hugging Face tokenizers "
        f"{tokenizers.__version__}; do not edit.\n"
        "// The Rust BertNormalizer / BertPreTokenizer classify characters with tables from an older Unicode\n"
        "// than Node's ICU, so these are measured code point by code point rather than written as \\p{...}.\n"
        "// Each table is a flat sorted list of inclusive [first, last] code point pairs.\n\n"
        + fmt("REMOVED_BY_CLEAN_TEXT", "clean_text deletes these: NUL, U+FFFD and control/format/private-use chars except \\t \\n \\r", removed) + "\n"
        + fmt("SPACE_BY_CLEAN_TEXT", "clean_text turns these into U+0020", to_space) + "\n"
        + fmt("NONSPACING_MARKS", "strip_accents deletes these after NFD (category Mn in the Rust tables)", marks) + "\n"
        + fmt("PUNCTUATION", "BertPreTokenizer isolates these: ASCII 33-47, 58-64, 91-96, 123-126 and category P*", punct) + "\n"
        + fmt("WHITESPACE", "BertPreTokenizer splits on (and drops) these", split_ws) + "\n"
        + fmt("CHINESE_CHARS", "handle_chinese_chars surrounds these CJK ideographs with spaces", chinese)
    )
    TABLES.parent.mkdir(parents=True, exist_ok=True)
    TABLES.write_text(text, encoding="utf-8")


# --- char vocabulary (independent reference of TS buildCharVocab) ---

def reference_char_vocab(min_freq=2, max_size=6000, lowercase=True):
    norm = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=lowercase)
    pre = pre_tokenizers.BertPreTokenizer()
    counts = Counter()
    with open(CORPUS, encoding="utf-8") as f:
        for line in f:
            for word, _ in pre.pre_tokenize_str(norm.normalize_str(line.rstrip("\n"))):
                counts[word] += 1
                chars = list(word)
                if len(chars) > 1:  # fallback pieces so unseen words split into characters
                    counts[chars[0]] += 1
                    for c in chars[1:]:
                        counts["##" + c] += 1
    kept = [(t, n) for t, n in counts.items() if n >= min_freq and t not in SPECIALS]
    kept.sort(key=lambda kv: (-kv[1], kv[0]))  # Python compares str by code point
    return SPECIALS + [t for t, _ in kept][: max_size - len(SPECIALS)]


def verify_char_vocab():
    env = dict(os.environ, WRITE_TOKENIZER_FIXTURES="1")
    subprocess.run(["npx", "vitest", "run", "packages/models/src/tokenizers/build-char-vocab.test.ts"], cwd=ROOT, env=env, check=True)
    d = OUT / "char-vocab"
    verdict = {"transformers": transformers.__version__, "tokenizers": tokenizers.__version__}
    ref = reference_char_vocab()
    got = (d / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1]
    verdict["matches_python_reference"] = got == ref
    verdict["vocab_size"] = len(got)
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(d, tmp, dirs_exist_ok=True)
        (Path(tmp) / "python-verdict.json").unlink(missing_ok=True)
        fast = BertTokenizer.from_pretrained(tmp)
        slow = BertTokenizerLegacy.from_pretrained(tmp)
    sample = "中华人民共和国第三届国防委员会委员。"
    verdict["loads_fast"] = fast.vocab_size == len(got) and fast.pad_token_id == 0 and fast.mask_token_id == 4
    verdict["loads_slow"] = slow.vocab_size == len(got) and slow.unk_token_id == 1
    verdict["do_lower_case"] = [fast.do_lower_case, slow.do_lower_case]
    verdict["model_max_length"] = fast.model_max_length
    verdict["sample"] = sample
    verdict["sample_ids"] = fast(sample)["input_ids"]
    verdict["slow_agrees"] = slow(sample)["input_ids"] == verdict["sample_ids"]
    verdict["files_sha256"] = {
        f: hashlib.sha256((d / f).read_bytes()).hexdigest() for f in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json")
    }
    verdict["ok"] = all(verdict[k] for k in ("matches_python_reference", "loads_fast", "loads_slow", "slow_agrees"))
    write_json(d / "python-verdict.json", verdict)
    print(json.dumps(verdict, ensure_ascii=False)[:400])
    if not verdict["ok"]:
        sys.exit("char vocab verdict: NOT ok")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--verify-char-vocab", action="store_true")
    args = parser.parse_args()
    if args.verify_char_vocab:
        verify_char_vocab()
        return
    OUT.mkdir(parents=True, exist_ok=True)
    write_unicode_tables()
    vocab = build_fixture_vocab()
    dirs = {"lower": make_checkpoint("bert-zh-lower", vocab, True), "cased": make_checkpoint("bert-zh-cased", vocab, False)}
    cases = corpus_cases() + HAND_CASES
    table = []
    for name, text, pair, max_length in cases:
        row = {"name": name, "text": text}
        if pair is not None:
            row["pair"] = pair
        if max_length is not None:
            row["max_length"] = max_length
        row["expected"] = {k: encode_case(f, s, text, pair, max_length) for k, (f, s) in dirs.items()}
        table.append(row)
    fast_lower = dirs["lower"][0]
    write_lines_json(OUT / "cases.json", {
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
        "note": "expected = transformers' fast BertTokenizer; slow_tokens only where BertTokenizerLegacy differs",
        "cases": table,
        "padding": padding_cases(fast_lower),
        "batch": batch_case(fast_lower),
        "truncation": truncation_table(fast_lower),
        "random": random_cases(dirs),
    })
    disagree = [(r["name"], k) for r in table for k, v in r["expected"].items() if "slow_tokens" in v]
    print(f"{len(table)} cases; slow/fast disagree on {len(disagree)}: {disagree}")


if __name__ == "__main__":
    main()
