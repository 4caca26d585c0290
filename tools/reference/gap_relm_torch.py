"""PyTorch baseline for the Gap-ReLM benchmarks: the same model, timed on CPU.

Reads a JSON spec written by a TS benchmark. The model is built from transformers' BERT classes
(a BertModel planner with an op head (3) and an insert head (K + 1), a BertForMaskedLM infiller
whose MLM head runs only at the mask positions, and a P-tuning prompt encoder, BiLSTM + MLP or
MLP, whose prompts are appended to the word-embedding table as ids vocab_size + j), either

  random, the sizes in spec["model"] (tools/bench/gap-relm.ts), or
  --model-dir DIR: the very weights of a directory written by GapRelm.save
    (tools/bench/gap-relm-serving.ts): planner/model.safetensors (bert.*, planner.op_head.*,
    planner.insert_head.*, prompt_encoder.*), infiller/ loaded by BertForMaskedLM.from_pretrained,
    infiller/prompt_encoder.safetensors when the prompts are not shared. Training is skipped.

Then times

  train: joint_finetune steps = planner CE + infill CE, backward, clip to norm 1, AdamW (also the
    mean ms of each phase: forward and loss, backward, clipping and AdamW);
  infer: per batch, the planner forward and each infiller forward the TS decode made, with a
    softmax over each output (no other decoding).

Each is timed over --repeats passes and the median pass is reported: on a shared 2-core machine
PyTorch's OpenMP threads slow down badly whenever another process takes a core. With
spec["check"] (logits the TS model gave for one batch) it also reports the largest difference
from them, to show the weights were read as the TS model reads them.

Prints one JSON line. Run: tools/reference/.venv/bin/python tools/reference/gap_relm_torch.py SPEC.json [--model-dir DIR]
"""

import argparse
import json
import math
import os
import platform
import statistics
import time

import torch
import transformers
from safetensors.torch import load_file
from torch import nn
from transformers import BertConfig, BertForMaskedLM, BertModel

IGNORE = -100


class PromptEncoder(nn.Module):
    """P-tuning: embeddings [P, H] -> (lstm) BiLSTM (H/2 per direction) -> Linear -> ReLU -> Linear."""

    def __init__(self, length: int, hidden: int, kind: str = "lstm"):
        super().__init__()
        self.embedding = nn.Embedding(length, hidden)
        self.lstm_head = nn.LSTM(hidden, hidden // 2, bidirectional=True, batch_first=True) if kind == "lstm" else None
        self.mlp_head = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))

    def forward(self) -> torch.Tensor:
        x = self.embedding.weight
        if self.lstm_head is not None:
            x = self.lstm_head(x.unsqueeze(0))[0].squeeze(0)
        return self.mlp_head(x)


class GapRelm(nn.Module):
    def __init__(self, config: BertConfig, prompts: int, max_insert_k: int, ptuning: str = "lstm", share_prompts: bool = True, infiller: BertForMaskedLM | None = None):
        super().__init__()
        self.prompts = prompts if ptuning != "none" else 0
        self.planner = BertModel(config, add_pooling_layer=False)
        self.op_head = nn.Linear(config.hidden_size, 3)
        self.insert_head = nn.Linear(config.hidden_size, max_insert_k + 1)
        self.infiller = infiller if infiller is not None else BertForMaskedLM(config)
        self.prompt_encoder = PromptEncoder(self.prompts, config.hidden_size, ptuning) if self.prompts else None
        # The infiller's own prompts, when they are not shared with the planner.
        self.infiller_prompt_encoder = PromptEncoder(self.prompts, config.hidden_size, ptuning) if self.prompts and not share_prompts else None
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.hidden = config.hidden_size

    @classmethod
    def from_spec(cls, m: dict) -> "GapRelm":
        """Random init of the sizes a TS benchmark wrote (P-tuning LSTM, shared prompts)."""
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
        return cls(config, m["prompt_length"], m["max_insert_k"])

    @classmethod
    def from_dir(cls, path: str) -> "GapRelm":
        """The weights of a directory written by GapRelm.save; every tensor must match by name and shape."""
        with open(os.path.join(path, "gap_relm_config.json"), encoding="utf8") as f:
            gap = json.load(f)
        planner_config = BertConfig.from_pretrained(os.path.join(path, "planner"))
        infiller = BertForMaskedLM.from_pretrained(os.path.join(path, "infiller"))
        model = cls(planner_config, planner_config.prompt_length, planner_config.max_insert_k, gap["ptuning"], gap["share_prompts"], infiller)
        # Checkpoint names -> this module's names (the infiller was loaded by transformers above).
        rename = (("bert.", "planner."), ("planner.op_head.", "op_head."), ("planner.insert_head.", "insert_head."), ("prompt_encoder.", "prompt_encoder."))
        state = {}
        for name, value in load_file(os.path.join(path, "planner", "model.safetensors")).items():
            prefix = next((p for p in rename if name.startswith(p[0])), None)
            if prefix is None:
                raise ValueError(f"GapRelm.from_dir: {path}/planner/model.safetensors has an unknown tensor {name}")
            state[prefix[1] + name[len(prefix[0]) :]] = value
        if model.infiller_prompt_encoder is not None:
            for name, value in load_file(os.path.join(path, "infiller", "prompt_encoder.safetensors")).items():
                state["infiller_" + name] = value
        missing, unexpected = model.load_state_dict(state, strict=False)
        missing = [n for n in missing if not n.startswith("infiller.") and not n.endswith("position_ids")]
        if missing or unexpected:
            raise ValueError(f"GapRelm.from_dir: {path} does not match the model; missing {missing[:6]}, unexpected {unexpected[:6]}")
        return model

    def _embeds(self, words: nn.Embedding, ids: torch.Tensor, prompts: PromptEncoder | None) -> torch.Tensor:
        # Virtual prompt token j has id vocab_size + j, as in the TS model.
        table = words.weight if prompts is None else torch.cat([words.weight, prompts()], 0)
        return nn.functional.embedding(ids, table)

    def plan(self, x: dict) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.planner(
            inputs_embeds=self._embeds(self.planner.embeddings.word_embeddings, x["ids"], self.prompt_encoder),
            attention_mask=x["mask"],
            token_type_ids=x["types"],
        ).last_hidden_state
        slots = self.dropout(torch.cat([h[:, :1], h[:, 1 + self.prompts :]], 1))
        return self.op_head(slots), self.insert_head(slots)

    def fill(self, x: dict) -> torch.Tensor:
        prompts = self.infiller_prompt_encoder or self.prompt_encoder
        h = self.infiller.bert(
            inputs_embeds=self._embeds(self.infiller.bert.embeddings.word_embeddings, x["ids"], prompts),
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

    # Seconds per phase of the timed steps (CPU tensors: each call returns when its work is done).
    phases = {"forward_and_loss": [], "backward": [], "clip_and_adamw": []}

    def step(p: dict, f: dict | None) -> None:
        t0 = time.perf_counter()
        op, ins = model.plan(p)
        loss = ce(op.reshape(-1, 3), p["op_targets"]) + ce(ins.reshape(-1, ins.shape[-1]), p["insert_targets"])
        if f is not None:
            loss = loss + ce(model.fill(f), f["gold"])
        optimizer.zero_grad(set_to_none=True)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t["max_grad_norm"])
        optimizer.step()
        loss.item()
        t3 = time.perf_counter()
        for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2)):
            phases[name].append(seconds)

    for p, f, _ in batches[: t["warmup"]]:
        step(p, f)
    for xs in phases.values():
        xs.clear()
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
        "phase_ms": {name: 1000 * statistics.mean(xs) for name, xs in phases.items()},
    }


def plans(batch: dict) -> list[dict]:
    """The planner calls of one decode batch: a list ("planners", one per length group), or one ("planner")."""
    if "planners" in batch:
        return [tensors(p) for p in batch["planners"]]
    return [tensors(batch["planner"])]


def infills(batch: dict) -> list[dict]:
    """The infiller calls of one decode batch: a list ("infillers"), or one call or null ("infiller")."""
    if "infillers" in batch:
        return [tensors(f) for f in batch["infillers"]]
    return [tensors(batch["infiller"])] if batch.get("infiller") else []


@torch.inference_mode()
def infer(model: GapRelm, run: dict, repeats: int) -> dict:
    model.eval()
    batches = [(plans(b), infills(b), b["sentences"]) for b in run["batches"]]

    def forward(ps: list[dict], fs: list[dict]) -> None:
        for p in ps:
            op, ins = model.plan(p)
            op.softmax(-1), ins.softmax(-1)
        for f in fs:
            model.fill(f).softmax(-1)

    for p, fs, _ in batches[: run["warmup"]]:
        forward(p, fs)
    passes = []
    for _ in range(repeats):
        batch_ms = []
        for p, fs, _ in batches:
            start = time.perf_counter()
            forward(p, fs)
            batch_ms.append(1000 * (time.perf_counter() - start))
        passes.append((sum(batch_ms) / 1000, batch_ms))
    passes.sort(key=lambda x: x[0])
    seconds, batch_ms = passes[len(passes) // 2]  # the median pass
    sentences = sum(n for _, _, n in batches)
    out = {"name": run["name"], "sentences": sentences, "seconds": seconds, "sentences_per_s": sentences / seconds, "batch_ms": batch_ms}
    if run["batch_size"] == 1:
        ranked = sorted(batch_ms)  # nearest rank, as the TS side
        out["p50_ms"], out["p99_ms"] = (ranked[max(0, math.ceil(q * len(ranked)) - 1)] for q in (0.5, 0.99))
    return out


@torch.inference_mode()
def check(model: GapRelm, c: dict) -> dict:
    """Largest |PyTorch - TS| over the logits the TS model gave for one batch (null = -Infinity there: skipped)."""
    model.eval()
    op, ins = model.plan(tensors(c["planner"]))
    out = {"planner_max_abs_diff": 0.0}
    for name, logits in (("op", op), ("insert", ins)):
        for b, rows in enumerate(c[name]):
            ts = torch.tensor(rows).view(-1, logits.shape[-1])
            out["planner_max_abs_diff"] = max(out["planner_max_abs_diff"], (logits[b, : ts.shape[0]] - ts).abs().max().item())
    if c.get("infiller"):
        logits = model.fill(tensors(c["infiller"]))
        ts = torch.tensor([math.nan if v is None else v for v in c["fill"]]).view(-1, logits.shape[-1])
        finite = ~ts.isnan()
        diff = (logits[: ts.shape[0]] - ts).abs()[finite]
        best = logits[: ts.shape[0]].masked_fill(~finite, -math.inf).argmax(-1)
        out.update(infiller_max_abs_diff=diff.max().item(), infiller_rows=ts.shape[0], infiller_argmax_agree=int((best == ts.nan_to_num(-math.inf).argmax(-1)).sum()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="JSON written by tools/bench/gap-relm.ts or tools/bench/gap-relm-serving.ts")
    parser.add_argument("--model-dir", help="load this GapRelm.save directory and only time inference (default: random init of spec['model'], train and infer)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the batches; the median pass is reported")
    args = parser.parse_args()
    with open(args.spec, encoding="utf8") as f:
        spec = json.load(f)
    torch.set_num_threads(args.threads)
    torch.manual_seed(spec.get("seed", 42))
    model = GapRelm.from_dir(args.model_dir) if args.model_dir else GapRelm.from_spec(spec["model"])
    result = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "attn_implementation": model.planner.config._attn_implementation,
        "params": sum(p.numel() for p in model.parameters()),
    }
    if not args.model_dir:
        result["train"] = train(model, spec, args.repeats)
    if spec.get("check"):
        result["check"] = check(model, spec["check"])
    result["infer"] = [infer(model, run, args.repeats) for run in spec["infer"]]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
