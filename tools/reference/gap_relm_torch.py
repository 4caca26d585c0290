"""PyTorch baseline for tools/bench/gap-relm.ts: the same-size Gap-ReLM, timed on CPU.

Reads a JSON spec written by the TS benchmark: the model sizes, the training batches the TS
trainer actually drew (padded ids, masks, token types, targets) and the inference batches of the
correction runs. Builds the model from transformers' BERT classes (a BertModel planner with an
op head (3) and an insert head (K + 1), a BertForMaskedLM infiller whose MLM head runs only at
the mask positions, and a shared P-tuning prompt encoder: BiLSTM + MLP, prompts appended to the
word-embedding table as ids vocab_size + j), then times:

  train: joint_finetune steps = planner CE + infill CE, backward, clip to norm 1, AdamW;
  infer: per batch, the planner forward and (where the TS run filled masks) the infiller forward.

Each is timed over --repeats passes and the median pass is reported: on a shared 2-core machine
PyTorch's OpenMP threads slow down badly whenever another process takes a core.

Prints one JSON line. Run: tools/reference/.venv/bin/python tools/reference/gap_relm_torch.py SPEC.json
"""

import argparse
import json
import math
import statistics
import platform
import time

import torch
import transformers
from torch import nn
from transformers import BertConfig, BertForMaskedLM, BertModel

IGNORE = -100


class PromptEncoder(nn.Module):
    """P-tuning: embeddings [P, H] -> BiLSTM (H/2 per direction) -> Linear -> ReLU -> Linear."""

    def __init__(self, length: int, hidden: int):
        super().__init__()
        self.embedding = nn.Embedding(length, hidden)
        self.lstm_head = nn.LSTM(hidden, hidden // 2, bidirectional=True, batch_first=True)
        self.mlp_head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))

    def forward(self) -> torch.Tensor:
        x, _ = self.lstm_head(self.embedding.weight.unsqueeze(0))
        return self.mlp_head(x.squeeze(0))


class GapRelm(nn.Module):
    def __init__(self, spec: dict):
        super().__init__()
        m = spec["model"]
        config = BertConfig(
            vocab_size=m["vocab_size"],
            hidden_size=m["hidden_size"],
            num_hidden_layers=m["num_hidden_layers"],
            num_attention_heads=m["num_attention_heads"],
            intermediate_size=m["intermediate_size"],
            max_position_embeddings=m["max_position_embeddings"],
            hidden_dropout_prob=m["dropout"],
            attention_probs_dropout_prob=m["dropout"],
        )
        self.prompts = m["prompt_length"]
        self.planner = BertModel(config, add_pooling_layer=False)
        self.op_head = nn.Linear(config.hidden_size, 3)
        self.insert_head = nn.Linear(config.hidden_size, m["max_insert_k"] + 1)
        self.infiller = BertForMaskedLM(config)
        self.prompt_encoder = PromptEncoder(self.prompts, config.hidden_size)
        self.dropout = nn.Dropout(m["dropout"])
        self.hidden = config.hidden_size

    def _embeds(self, words: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        # Virtual prompt token j has id vocab_size + j, as in the TS model.
        table = torch.cat([words.weight, self.prompt_encoder()], 0)
        return nn.functional.embedding(ids, table)

    def plan(self, x: dict) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.planner(
            inputs_embeds=self._embeds(self.planner.embeddings.word_embeddings, x["ids"]),
            attention_mask=x["mask"],
            token_type_ids=x["types"],
        ).last_hidden_state
        slots = self.dropout(torch.cat([h[:, :1], h[:, 1 + self.prompts :]], 1))
        return self.op_head(slots), self.insert_head(slots)

    def fill(self, x: dict) -> torch.Tensor:
        h = self.infiller.bert(
            inputs_embeds=self._embeds(self.infiller.bert.embeddings.word_embeddings, x["ids"]),
            attention_mask=x["mask"],
            token_type_ids=x["types"],
        ).last_hidden_state
        return self.infiller.cls(h.reshape(-1, self.hidden)[x["positions"]])


def tensors(x: dict | None) -> dict | None:
    """Padded inputs as written by the TS bench: flat int arrays plus [batch, length]."""
    if x is None:
        return None
    shape = (x["batch"], x["length"])
    out = {k: torch.tensor(x[k], dtype=torch.long).view(shape) for k in ("ids", "mask", "types")}
    for k in ("positions", "gold", "op_targets", "insert_targets"):
        if k in x:
            out[k] = torch.tensor(x[k], dtype=torch.long)
    return out


def train(model: GapRelm, spec: dict, repeats: int) -> dict:
    t = spec["train"]
    batches = [(tensors(b["planner"]), tensors(b["infiller"]), b["tokens"]) for b in t["batches"]]
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n
    groups = [
        {"params": [p for n, p in model.named_parameters() if not no_decay(n)], "weight_decay": t["weight_decay"]},
        {"params": [p for n, p in model.named_parameters() if no_decay(n)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=t["lr"])
    ce = nn.CrossEntropyLoss(ignore_index=IGNORE)
    model.train()

    def step(p: dict, f: dict | None) -> None:
        op, ins = model.plan(p)
        loss = ce(op.reshape(-1, 3), p["op_targets"]) + ce(ins.reshape(-1, ins.shape[-1]), p["insert_targets"])
        if f is not None:
            loss = loss + ce(model.fill(f), f["gold"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t["max_grad_norm"])
        optimizer.step()
        loss.item()

    for p, f, _ in batches[: t["warmup"]]:
        step(p, f)
    timed = batches[t["warmup"] :]
    tokens = sum(n for _, _, n in timed)
    passes = []
    for _ in range(repeats):
        start = time.perf_counter()
        for p, f, _ in timed:
            step(p, f)
        passes.append(time.perf_counter() - start)
    seconds = statistics.median(passes)
    return {
        "steps": len(timed),
        "passes": repeats,
        "seconds": seconds,
        "tokens": tokens,
        "tokens_per_s": tokens / seconds,
        "step_ms": 1000 * seconds / len(timed),
        "tokens_per_s_range": [tokens / max(passes), tokens / min(passes)],
    }


@torch.inference_mode()
def infer(model: GapRelm, run: dict, repeats: int) -> dict:
    model.eval()
    batches = [(tensors(b["planner"]), tensors(b["infiller"]), b["sentences"]) for b in run["batches"]]
    for p, f, _ in batches[: run["warmup"]]:
        model.plan(p)
        if f is not None:
            model.fill(f)
    passes = []
    for _ in range(repeats):
        per_sentence_ms = []
        for p, f, n in batches:
            start = time.perf_counter()
            op, ins = model.plan(p)
            op.softmax(-1), ins.softmax(-1)
            if f is not None:
                model.fill(f).softmax(-1)
            per_sentence_ms.append(1000 * (time.perf_counter() - start) / n)
        passes.append((sum(ms * n for ms, (_, _, n) in zip(per_sentence_ms, batches)) / 1000, per_sentence_ms))
    passes.sort(key=lambda x: x[0])
    seconds, per_sentence_ms = passes[len(passes) // 2]  # the median pass
    sentences = sum(n for _, _, n in batches)
    out = {"name": run["name"], "sentences": sentences, "seconds": seconds, "sentences_per_s": sentences / seconds}
    if run["batch_size"] == 1:
        ranked = sorted(per_sentence_ms)  # nearest rank, as the TS side
        out["p50_ms"], out["p99_ms"] = (ranked[max(0, math.ceil(q * len(ranked)) - 1)] for q in (0.5, 0.99))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="JSON written by tools/bench/gap-relm.ts")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the batches; the median pass is reported")
    args = parser.parse_args()
    with open(args.spec, encoding="utf8") as f:
        spec = json.load(f)
    torch.set_num_threads(args.threads)
    torch.manual_seed(spec.get("seed", 42))
    model = GapRelm(spec)
    result = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "attn_implementation": model.planner.config._attn_implementation,
        "params": sum(p.numel() for p in model.parameters()),
        "train": train(model, spec, args.repeats),
        "infer": [infer(model, run, args.repeats) for run in spec["infer"]],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
