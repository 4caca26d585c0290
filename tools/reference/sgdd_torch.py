"""PyTorch reference of the SGDD diffusion decoder (packages/models/src/sgdd/model.ts), timed on CPU.

The same decoder, written in plain torch: token embeddings (tied to the output projection), learned
absolute positions (absolute_positions) and an MLP of the sinusoidal timestep embedding, LayerNorm;
per layer (pre-LN) cross-attention from the tokens to the semantic vector projected to
memory_tokens tokens (or the learned null tokens where condition = 0),
bidirectional self-attention with RoPE (Llama's rotate-half layout) and a padding mask, a GELU
(erf) FFN; a final LayerNorm and the tied projection at the masked positions only. Parameter names
are the TS model's, so `model.safetensors` written by `saveSgdd` loads as is.

Reads a JSON spec written by tools/bench/sgdd.ts:

  model:   the SGDD config (sizes, T, RoPE theta, eps, dropout)
  weights: optional, a model.safetensors to start from (else a random init)
  check:   optional, one batch and the logits the TS model gave at its positions: the largest
           difference is reported, to show this is the same decoder
  train:   {warmup, lr, weight_decay, max_grad_norm, batches}: the very batches the TS run trained
           on (ids, mask, timesteps, semantic, condition, positions, targets), each step
           cross-entropy at the positions, backward, clip to norm max_grad_norm, AdamW

Tokens/s counts the non-padding tokens of the steps after `warmup` (as the TS task's `tokens`); CPU
seconds per step (every thread) are reported beside the wall time.
Prints one JSON line. Run: tools/reference/.venv/bin/python tools/reference/sgdd_torch.py SPEC.json [--threads 2]
"""

import argparse
import json
import math
import platform
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn

MASKED = -1e9  # the TS padding bias


class Attention(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.query, self.key, self.value, self.output = (nn.Linear(hidden, hidden) for _ in range(4))


class Ffn(nn.Module):
    def __init__(self, hidden: int, intermediate: int):
        super().__init__()
        self.intermediate = nn.Linear(hidden, intermediate)
        self.output = nn.Linear(intermediate, hidden)


class Layer(nn.Module):
    def __init__(self, hidden: int, intermediate: int, eps: float):
        super().__init__()
        self.cross_attention = Attention(hidden)
        self.cross_attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.self_attention = Attention(hidden)
        self.self_attention_norm = nn.LayerNorm(hidden, eps=eps)
        self.ffn = Ffn(hidden, intermediate)
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps)


class Embeddings(nn.Module):
    def __init__(self, vocab: int, hidden: int, eps: float, positions: int):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden)
        if positions:
            self.position_embeddings = nn.Embedding(positions, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=eps)


class TimeEmbedding(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.linear_1 = nn.Linear(hidden, hidden)
        self.linear_2 = nn.Linear(hidden, hidden)


def sinusoidal_table(steps: int, dim: int) -> torch.Tensor:
    """Row t: [sin(t f_i)..., cos(t f_i)...], f_i = 10000^(-i / (dim / 2)) (timestep-embedding.ts)."""
    half = dim // 2
    freqs = torch.pow(10000.0, -torch.arange(half, dtype=torch.float64) / half)
    angles = torch.arange(steps + 1, dtype=torch.float64)[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1).float()


def rope_tables(head_dim: int, positions: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [positions, head_dim]: frequencies concatenated twice (rope.ts, Llama)."""
    freqs = torch.pow(theta, -torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.arange(positions, dtype=torch.float64)[:, None] * freqs[None, :]
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos().float(), angles.sin().float()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


class SgddDecoder(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.c = c
        hidden, eps = c["hidden_size"], c["layer_norm_eps"]
        self.heads = c["num_attention_heads"]
        # Configs saved before absolute_positions / memory_tokens are the legacy design (config.ts).
        self.memory_tokens = c.get("memory_tokens", 1)
        self.embeddings = Embeddings(c["vocab_size"], hidden, eps, c["max_length"] if c.get("absolute_positions", False) else 0)
        self.time_embedding = TimeEmbedding(hidden)
        self.semantic_projection = nn.Linear(c["semantic_size"], self.memory_tokens * hidden)
        self.null_semantic = nn.Parameter(torch.randn(self.memory_tokens * hidden) * c["initializer_range"])
        self.layers = nn.ModuleList(Layer(hidden, c["intermediate_size"], eps) for _ in range(c["num_hidden_layers"]))
        self.final_norm = nn.LayerNorm(hidden, eps=eps)
        self.output_bias = nn.Parameter(torch.zeros(c["vocab_size"]))
        self.register_buffer("time_table", sinusoidal_table(c["num_timesteps"], hidden), persistent=False)
        cos, sin = rope_tables(hidden // self.heads, c["max_length"], c["rope_theta"])
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        # As SgddModel.random: normal(0, initializer_range) matrices, zero biases, LayerNorm (1, 0).
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=c["initializer_range"])
            elif name.endswith(".bias") or name == "output_bias":
                nn.init.zeros_(p)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape
        return x.view(b, n, self.heads, h // self.heads).transpose(1, 2)

    def _attend(self, a: Attention, x: torch.Tensor, kv: torch.Tensor, bias, rope, p: float) -> torch.Tensor:
        q, k, v = self._heads(a.query(x)), self._heads(a.key(kv)), self._heads(a.value(kv))
        if rope is not None:
            cos, sin = rope
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
        b, _, n, _ = out.shape
        return a.output(out.transpose(1, 2).reshape(b, n, -1))

    def forward(self, x: dict) -> torch.Tensor:
        """Logits [N, V] at x["positions"] (flat b * L + i)."""
        c, training = self.c, self.training
        p = c["dropout"] if training else 0.0
        ids = x["input_ids"]
        b, n = ids.shape
        te = self.time_embedding
        time = te.linear_2(F.gelu(te.linear_1(self.time_table[x["timesteps"]])))
        tokens = self.embeddings.word_embeddings(ids)
        if hasattr(self.embeddings, "position_embeddings"):
            tokens = tokens + self.embeddings.position_embeddings.weight[:n]
        h = F.dropout(self.embeddings.LayerNorm(tokens + time[:, None, :]), p, training)
        keep = x["condition"][:, None]
        memory = (self.semantic_projection(x["semantic"]) * keep + self.null_semantic * (1 - keep)).view(b, self.memory_tokens, -1)
        bias = ((1 - x["attention_mask"].float()) * MASKED)[:, None, None, :]
        rope = (self.rope_cos[:n], self.rope_sin[:n])
        for layer in self.layers:
            cross = self._attend(layer.cross_attention, layer.cross_attention_norm(h), memory, None, None, 0.0)
            h = h + F.dropout(cross, p, training)
            a = layer.self_attention_norm(h)
            h = h + F.dropout(self._attend(layer.self_attention, a, a, bias, rope, p), p, training)
            ff = layer.ffn.output(F.gelu(layer.ffn.intermediate(layer.ffn_norm(h))))
            h = h + F.dropout(ff, p, training)
        flat = self.final_norm(h).reshape(b * n, -1)[x["positions"]]
        return flat @ self.embeddings.word_embeddings.weight.T + self.output_bias


def tensors(batch: dict) -> dict:
    b, n = batch["batch"], batch["length"]
    return {
        "input_ids": torch.tensor(batch["input_ids"], dtype=torch.long).view(b, n),
        "attention_mask": torch.tensor(batch["attention_mask"], dtype=torch.long).view(b, n),
        "timesteps": torch.tensor(batch["timesteps"], dtype=torch.long),
        "semantic": torch.tensor(batch["semantic"], dtype=torch.float32).view(b, -1),
        "condition": torch.tensor(batch["condition"], dtype=torch.float32),
        "positions": torch.tensor(batch["positions"], dtype=torch.long),
        "targets": torch.tensor(batch.get("targets", []), dtype=torch.long),
    }


@torch.no_grad()
def check(model: SgddDecoder, c: dict) -> dict:
    model.eval()
    logits = model(tensors(c))
    ts = torch.tensor(c["logits"], dtype=torch.float32).view(logits.shape)
    return {"max_abs_diff": (logits - ts).abs().max().item(), "rows": logits.shape[0]}


def train(model: SgddDecoder, t: dict) -> dict:
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=t["lr"], weight_decay=t["weight_decay"])
    batches = [tensors(b) for b in t["batches"]]

    def step(x: dict) -> float:
        loss = F.cross_entropy(model(x), x["targets"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), t["max_grad_norm"])
        optimizer.step()
        return loss.item()

    for x in batches[: t["warmup"]]:
        step(x)
    timed = batches[t["warmup"] :]
    tokens = sum(int(x["attention_mask"].sum()) for x in timed)
    start, cpu = time.perf_counter(), time.process_time()
    losses = [step(x) for x in timed]
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"steps": len(timed), "seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds, "step_ms": 1000 * seconds / len(timed), "cpu_s_per_step": cpu / len(timed), "last_loss": losses[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("spec", help="JSON written by tools/bench/sgdd.ts")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with open(args.spec, encoding="utf8") as f:
        spec = json.load(f)
    torch.set_num_threads(args.threads)
    torch.manual_seed(spec.get("seed", 42))
    model = SgddDecoder(spec["model"])
    if spec.get("weights"):
        state = load_file(spec["weights"])
        missing, unexpected = model.load_state_dict(state, strict=False)
        if missing or unexpected:
            raise SystemExit(f"sgdd_torch.py: {spec['weights']} does not match: missing {missing[:6]}, unexpected {unexpected[:6]}")
    result = {"torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads(), "params": sum(p.numel() for p in model.parameters())}
    if spec.get("check"):
        result["check"] = check(model, spec["check"])
    if spec.get("train"):
        result["train"] = train(model, spec["train"])
    print(json.dumps(result))


if __name__ == "__main__":
    main()
