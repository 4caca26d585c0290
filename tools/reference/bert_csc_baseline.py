#!/usr/bin/env python3
"""The same-budget baseline of issue 14 (item 5a): a plain BERT-CSC fine-tuned in PyTorch.

Encoder -> dense + GELU + LayerNorm -> logits tied to the word embeddings (+ bias), one prediction
at every character; cross-entropy against the target character at every position. It starts from
the same bge-small-zh encoder as `gap-relm demo` (the Hugging Face directory the toolkit's ONNX
import writes), trains on the demo's data mix (`train-mix.jsonl`: synthetic errors + real learner
errors, --learner-share) for a wall-clock budget, then corrects the SIGHAN-15 test set and scores it
with the repository's metric definition (csc_reference.py, the reference of @proj/metrics).

    npx tsx apps/gap-relm/src/cli.ts pretrained fetch bge-small-zh --from ../shared/models/bge-small-zh-v1.5
    npx tsx apps/gap-relm/src/cli.ts demo --no-train --output-dir runs/baseline     # writes runs/baseline/train-mix.jsonl
    nice -n 10 tools/reference/.venv/bin/python tools/reference/bert_csc_baseline.py \
        --encoder ~/.cache/proj-toolkit/pretrained/bge-small-zh/hf \
        --train-file runs/baseline/train-mix.jsonl --budget-minutes 10 --output-dir runs/baseline/bert-csc

Only same-length pairs can be trained on (a prediction per character): the synthetic examples whose
errors add or drop a character are skipped and counted. Prints one JSON line: budget, steps,
examples seen, the load average before and after training, and the SIGHAN-15 scores (sentence level:
detection / correction P, R, F1 and the false-positive rate); writes it to <output-dir>/result.json
with the predictions in <output-dir>/sighan15-test.pred.txt. With --similar-chars (the Gap-ReLM
model's similar_chars.json) the same model is also decoded with Gap-ReLM's similar-character prior
and scored under "with_similar_prior" (predictions in sighan15-test.prior.pred.txt).
"""

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

import torch
from torch import nn
from transformers import BertModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from csc_reference import reference_metrics  # noqa: E402  (the repository's CSC metric definition)

ROOT = Path(__file__).resolve().parents[2]
SIGHAN15 = ROOT / "apps/gap-relm/data/sighan/sighan15-test.txt"


class BertCsc(nn.Module):
    """BERT encoder + BertForMaskedLM-style head whose decoder is the word-embedding matrix."""

    def __init__(self, encoder_dir: str):
        super().__init__()
        self.bert = BertModel.from_pretrained(encoder_dir, add_pooling_layer=False)
        hidden = self.bert.config.hidden_size
        self.dense = nn.Linear(hidden, hidden)
        self.act = nn.GELU()
        self.norm = nn.LayerNorm(hidden, eps=self.bert.config.layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(self.bert.config.vocab_size))

    def forward(self, ids, mask):
        h = self.bert(input_ids=ids, attention_mask=mask).last_hidden_state
        h = self.norm(self.act(self.dense(h)))
        return h @ self.bert.embeddings.word_embeddings.weight.T + self.bias


class CharVocab:
    """One id per code point, as the toolkit tokenizes for Gap-ReLM: the WordPiece id of the
    (lower-cased) character, [UNK] when the vocabulary lacks it."""

    def __init__(self, vocab_file: Path):
        self.tokens = vocab_file.read_text(encoding="utf8").split("\n")
        if self.tokens and self.tokens[-1] == "":
            self.tokens.pop()
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.unk, self.cls, self.sep, self.pad = (self.ids[t] for t in ("[UNK]", "[CLS]", "[SEP]", "[PAD]"))

    def encode(self, text: str) -> list[int]:
        return [self.ids.get(c, self.ids.get(c.lower(), self.unk)) for c in text]

    def decode(self, source: str, ids: list[int]) -> str:
        """Keeps the source character unless the prediction is another single character."""
        out = []
        for char, src_id, pred in zip(source, self.encode(source), ids):
            token = self.tokens[pred]
            keep = pred == src_id or src_id == self.unk or len(token) != 1 or token.startswith("[")
            out.append(char if keep else token)
        return "".join(out)


def batch_tensors(vocab: CharVocab, pairs, max_len: int):
    """[CLS] chars [SEP], padded; the labels are the target ids (-100 at specials and padding)."""
    width = min(max_len, max(len(s) for s, _ in pairs)) + 2
    ids = torch.full((len(pairs), width), vocab.pad)
    labels = torch.full((len(pairs), width), -100)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    for row, (src, tgt) in enumerate(pairs):
        s, t = vocab.encode(src)[: width - 2], vocab.encode(tgt)[: width - 2]
        ids[row, : len(s) + 2] = torch.tensor([vocab.cls, *s, vocab.sep])
        labels[row, 1 : len(t) + 1] = torch.tensor(t)
        mask[row, : len(s) + 2] = 1
    return ids, mask, labels


def read_pairs(path: Path):
    """(source, target) from the demo's precomputed JSONL; length-changing pairs are skipped."""
    pairs, skipped = [], 0
    with path.open(encoding="utf8") as f:
        for line in f:
            if not line.strip():
                continue
            record = json.loads(line)
            if len(record["source"]) == len(record["target"]):
                pairs.append((record["source"], record["target"]))
            else:
                skipped += 1
    return pairs, skipped


def read_sighan(path: Path):
    rows = []
    for line in path.read_text(encoding="utf8").splitlines():
        if line.strip():
            _, src, tgt = line.split("\t")
            rows.append((src, tgt))
    return rows


def similar_columns(vocab: CharVocab, table: dict) -> dict:
    """Per character id: its own id and those of the characters the table lists as similar to it
    (the Gap-ReLM model's similar_chars.json: {"char": "similar chars", ...})."""
    out = {}
    for char, similar in table.items():
        ids = {i for i in vocab.encode(char + similar) if i != vocab.unk}
        source = vocab.encode(char)[0]
        if source != vocab.unk:
            out[source] = torch.tensor(sorted(ids | {source}))
    return out


@torch.no_grad()
def correct(model, vocab, sources, batch_size=32, similar=None, bonus=0.0):
    """Argmax per character. With `similar` and `bonus`, Gap-ReLM's decoding prior
    (similar_fill_bonus): each position's logits get `bonus` on the columns of its source
    character and the characters similar to it, so a correction to another character must beat
    them by that much."""
    model.eval()
    preds = []
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out = [None] * len(sources)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        ids, mask, _ = batch_tensors(vocab, [(sources[i], sources[i]) for i in idx], max_len=510)
        logits = model(ids, mask)
        if similar is not None and bonus > 0:
            for row, i in enumerate(idx):
                for j, src in enumerate(vocab.encode(sources[i][:510])):
                    columns = similar.get(src)
                    if columns is not None:
                        logits[row, j + 1, columns] += bonus
        best = logits.argmax(-1)
        for row, i in enumerate(idx):
            n = min(len(sources[i]), 510)
            fixed = vocab.decode(sources[i][:n], best[row, 1 : n + 1].tolist())
            out[i] = fixed + sources[i][n:]
    preds.extend(out)
    return preds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", required=True, help="Hugging Face BERT directory (the toolkit's import of bge-small-zh)")
    parser.add_argument("--train-file", required=True, type=Path, help="precomputed JSONL with source/target (the demo's train-mix.jsonl)")
    parser.add_argument("--test", type=Path, default=SIGHAN15, help="n_errors TAB source TAB target (default: the bundled SIGHAN-15 test)")
    parser.add_argument("--budget-minutes", type=float, default=10.0, help="wall-clock training budget (model loading and scoring not counted)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5, help="learning rate of the encoder (and so of the tied decoder)")
    parser.add_argument("--head-lr", type=float, default=1e-3, help="learning rate of the new transform and bias (bge has no MLM head)")
    parser.add_argument("--warmup-steps", type=int, default=30)
    parser.add_argument("--max-len", type=int, default=128, help="training sentences are cut to this many characters")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output-dir", type=Path, required=True)
    parser.add_argument("--similar-chars", type=Path, help="also decode with Gap-ReLM's similar-character prior: the model's similar_chars.json")
    parser.add_argument("--similar-fill-bonus", type=float, default=12.0, help="the prior's bonus (the demo's similar_fill_bonus)")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    vocab = CharVocab(Path(args.encoder) / "vocab.txt")
    pairs, skipped = read_pairs(args.train_file)
    model = BertCsc(args.encoder)
    groups = []
    for head in (False, True):
        named = [(n, p) for n, p in model.named_parameters() if n.startswith("bert.") != head]
        lr = args.head_lr if head else args.lr
        groups.append({"params": [p for _, p in named if p.dim() > 1], "weight_decay": 0.01, "lr": lr})
        groups.append({"params": [p for _, p in named if p.dim() <= 1], "weight_decay": 0.0, "lr": lr})
    optimizer = torch.optim.AdamW(groups)
    # Linear warm-up, then constant: with a wall-clock budget the number of steps is not known.
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / args.warmup_steps))
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)

    load_before = os.getloadavg()
    budget = args.budget_minutes * 60
    started, cpu_started = time.monotonic(), time.process_time()
    order, cursor, step, seen, losses = [], 0, 0, 0, []
    model.train()
    while time.monotonic() - started < budget:
        if cursor >= len(order):
            order, cursor = length_bucketed(pairs, args.batch_size, rng), 0
        batch = [pairs[i] for i in order[cursor]]
        cursor += 1
        ids, mask, labels = batch_tensors(vocab, batch, args.max_len)
        loss = loss_fn(model(ids, mask).reshape(-1, vocab_size(model)), labels.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        seen += len(batch)
        losses.append(loss.item())
        if step % 20 == 0:
            print(f"step {step} loss {sum(losses[-20:]) / 20:.4f} {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    train_seconds = time.monotonic() - started
    # On a shared machine the wall-clock budget buys whatever CPU the others leave: report both.
    train_cpu_seconds = time.process_time() - cpu_started
    load_after = os.getloadavg()

    test = read_sighan(args.test)
    scoring_started = time.monotonic()
    preds = correct(model, vocab, [s for s, _ in test])
    metrics = reference_metrics([(s, t, p) for (s, t), p in zip(test, preds)])
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "sighan15-test.pred.txt").write_text("".join(p + "\n" for p in preds), encoding="utf8")
    sentence = metrics["sentence"]
    result = {
        "model": "BERT-CSC (encoder -> dense+GELU+LayerNorm -> tied decoder), PyTorch",
        "encoder": str(args.encoder),
        "train_file": str(args.train_file),
        "train_pairs": len(pairs),
        "skipped_length_changing": skipped,
        "budget_minutes": args.budget_minutes,
        "train_seconds": round(train_seconds, 1),
        "train_cpu_seconds": round(train_cpu_seconds, 1),
        "steps": step,
        "examples_seen": seen,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "head_lr": args.head_lr,
        "threads": args.threads,
        "final_loss_mean_last_50": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "scoring_seconds": round(time.monotonic() - scoring_started, 1),
        "test": str(args.test),
        "sighan15_sentence_correction": {k: round(sentence["correction"][k], 4) for k in ("precision", "recall", "f1")},
        "sighan15_sentence_detection": {k: round(sentence["detection"][k], 4) for k in ("precision", "recall", "f1")},
        "sighan15_fpr": round(metrics["fpr"], 4),
        "sighan15_sentences": metrics["sentences"],
        "torch": torch.__version__,
    }
    if args.similar_chars is not None:
        # The same model decoded a second time with the prior: what the prior gives the baseline.
        table = json.loads(args.similar_chars.read_text(encoding="utf8"))
        prior_preds = correct(model, vocab, [s for s, _ in test], similar=similar_columns(vocab, table), bonus=args.similar_fill_bonus)
        prior = reference_metrics([(s, t, p) for (s, t), p in zip(test, prior_preds)])
        (args.output_dir / "sighan15-test.prior.pred.txt").write_text("".join(p + "\n" for p in prior_preds), encoding="utf8")
        result["with_similar_prior"] = {
            "similar_chars": str(args.similar_chars),
            "similar_fill_bonus": args.similar_fill_bonus,
            "sighan15_sentence_correction": {k: round(prior["sentence"]["correction"][k], 4) for k in ("precision", "recall", "f1")},
            "sighan15_sentence_detection": {k: round(prior["sentence"]["detection"][k], 4) for k in ("precision", "recall", "f1")},
            "sighan15_fpr": round(prior["fpr"], 4),
        }
    (args.output_dir / "result.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf8")
    print(json.dumps(result, ensure_ascii=False))
    return 0 if math.isfinite(result["final_loss_mean_last_50"]) else 1


def length_bucketed(pairs, batch_size: int, rng: random.Random, window: int = 64):
    """One epoch of batches (index lists): shuffled, then sorted by length within windows of
    `window` batches so that a batch pads little, then the batches shuffled."""
    order = rng.sample(range(len(pairs)), len(pairs))
    batches = []
    for start in range(0, len(order), batch_size * window):
        chunk = sorted(order[start : start + batch_size * window], key=lambda i: len(pairs[i][0]))
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def vocab_size(model: BertCsc) -> int:
    return model.bert.config.vocab_size


if __name__ == "__main__":
    sys.exit(main())
