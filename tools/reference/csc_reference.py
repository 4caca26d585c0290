#!/usr/bin/env python3
"""Independent reference for @proj/metrics `cscMetrics`, and the fixture it is checked against.

Written from the SpellGCN / ReLM sentence-level definition (not translated from the TS code):
a sentence is a list of (position, char) edits; a detection hit needs the same positions, a
correction hit the same positions and chars; precision is over sentences with predicted edits and
recall over sentences with gold edits. Char-level scores, the false-positive rate and the length
rules follow the @proj/metrics README.

It samples 200 real SIGHAN-15 test pairs (read-only) and makes predictions by seeded perturbation
(perfect, untouched, partial, wrong char, over-correction, length change, non-BMP chars), then
writes the triples and the expected metrics to packages/metrics/test/fixtures/csc-reference.json.

    python3 tools/reference/csc_reference.py          # plain Python 3, no packages needed
"""
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIGHAN = ROOT / "apps/gap-relm/data/sighan/sighan15-test.txt"
OUT = ROOT / "packages/metrics/test/fixtures/csc-reference.json"
SEED = 20150
N = 200
# Characters to write in when a perturbation needs a wrong one; the last two are outside the BMP.
WRONG = "的地得在再做作已以他她它\U00020000\U0002A6A5"


def edits(src, other):
    """[(position, char)] where `other` differs from `src`; None when lengths differ."""
    if len(src) != len(other):
        return None
    return [(i, c) for i, (s, c) in enumerate(zip(src, other)) if s != c]


def ratio(a, b):
    return a / b if b else 0.0


def prf(tp, pred, gold):
    p, r = ratio(tp, pred), ratio(tp, gold)
    f = lambda beta: (1 + beta * beta) * p * r / (beta * beta * p + r) if p + r else 0.0
    return {"tp": tp, "fp": pred - tp, "fn": gold - tp, "precision": p, "recall": r,
            "f1": f(1.0), "f05": f(0.5), "f2": f(2.0)}


def reference_metrics(triples):
    sent = {"gold": 0, "pred": 0, "det": 0, "cor": 0}
    char = {"gold": 0, "pred": 0, "det": 0, "cor": 0}
    clean = alarms = scored = length_mismatch = gold_length_mismatch = 0
    for src, tgt, pred in triples:
        gold = edits(src, tgt)
        if gold is None:
            gold_length_mismatch += 1
            continue
        scored += 1
        hyp = edits(src, pred)
        if gold:
            sent["gold"] += 1
        else:
            clean += 1
        char["gold"] += len(gold)
        if hyp is None:  # length changed: an edit that can never be right
            length_mismatch += 1
            sent["pred"] += 1
            alarms += 0 if gold else 1
            continue
        if not hyp:
            continue
        sent["pred"] += 1
        alarms += 0 if gold else 1
        if [i for i, _ in hyp] == [i for i, _ in gold]:
            sent["det"] += 1
        if hyp == gold:
            sent["cor"] += 1
        gold_pos = dict(gold)
        char["pred"] += len(hyp)
        char["det"] += sum(1 for i, _ in hyp if i in gold_pos)
        char["cor"] += sum(1 for i, c in hyp if gold_pos.get(i) == c)
    return {
        "sentence": {"detection": prf(sent["det"], sent["pred"], sent["gold"]),
                     "correction": prf(sent["cor"], sent["pred"], sent["gold"])},
        "char": {"detection": prf(char["det"], char["pred"], char["gold"]),
                 "correction": prf(char["cor"], char["pred"], char["gold"])},
        "fpr": ratio(alarms, clean),
        "sentences": scored,
        "length_mismatch": length_mismatch,
        "gold_length_mismatch": gold_length_mismatch,
    }


def wrong_char(rng, avoid):
    return rng.choice([c for c in WRONG if c not in avoid])


def predict(rng, src, tgt):
    """One seeded prediction; returns (kind, pred)."""
    errs = [i for i in range(len(src)) if src[i] != tgt[i]]
    ok = [i for i in range(len(src)) if src[i] == tgt[i]]
    kind = rng.choice(["perfect", "perfect", "untouched", "partial", "wrong_char",
                       "over_correct", "over_correct", "length", "non_bmp_pair"])
    pred = list(src)
    if kind == "perfect":
        pred = list(tgt)
    elif kind == "partial" and len(errs) >= 2:
        for i in rng.sample(errs, len(errs) - 1):
            pred[i] = tgt[i]
    elif kind == "partial" and errs:  # one error: fix it and also touch a correct char
        pred[errs[0]] = tgt[errs[0]]
        j = rng.choice(ok)
        pred[j] = wrong_char(rng, src[j])
    elif kind == "wrong_char" and errs:
        pred = list(tgt)
        i = rng.choice(errs)
        pred[i] = wrong_char(rng, src[i] + tgt[i])
    elif kind == "over_correct":
        pred = list(tgt) if rng.random() < 0.5 else list(src)
        for j in rng.sample(ok, min(len(ok), rng.randint(1, 2))):
            pred[j] = wrong_char(rng, src[j])
    elif kind == "length":
        pred = list(tgt)
        i = rng.randrange(len(pred) + 1)
        if rng.random() < 0.5 and pred:
            del pred[min(i, len(pred) - 1)]
        else:
            pred.insert(i, wrong_char(rng, ""))
    elif kind == "non_bmp_pair" and ok:
        # Put a non-BMP char into source and target at a correct position, so code-point
        # positions and UTF-16 positions disagree after it; then predict perfectly.
        j = min(ok)
        src, tgt = src[:j] + "\U0002A6A5" + src[j + 1:], tgt[:j] + "\U0002A6A5" + tgt[j + 1:]
        pred = list(tgt)
    else:
        kind = "untouched"
    return kind, src, tgt, "".join(pred)


def main():
    pairs = []
    for line in SIGHAN.read_text(encoding="utf-8").splitlines():
        _, src, tgt = line.split("\t")
        pairs.append((src, tgt))
    rng = random.Random(SEED)
    sample = rng.sample(pairs, N - 2)
    triples, kinds = [], []
    for src, tgt in sample:
        kind, src, tgt, pred = predict(rng, src, tgt)
        triples.append([src, tgt, pred])
        kinds.append(kind)
    # Two hand-made gold pairs of different lengths, which the metric skips and counts.
    triples.append(["我门去学校", "我们去学校了", "我们去学校"])
    kinds.append("gold_length")
    triples.append(["他在家", "他在家里", "他在家里"])
    kinds.append("gold_length")
    fixture = {
        "generator": "tools/reference/csc_reference.py",
        "source": "apps/gap-relm/data/sighan/sighan15-test.txt (SIGHAN-15 test pairs)",
        "seed": SEED,
        "kinds": kinds,
        "triples": triples,
        "expected": reference_metrics(triples),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    e = fixture["expected"]
    print(f"wrote {OUT.relative_to(ROOT)}: {len(triples)} triples, "
          f"sentence correction F1 {e['sentence']['correction']['f1']:.4f}, fpr {e['fpr']:.4f}, "
          f"length_mismatch {e['length_mismatch']}")


if __name__ == "__main__":
    main()
