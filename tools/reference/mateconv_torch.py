"""PyTorch CPU baseline of tools/bench/causal-lm-speed.ts: the same MateConv model (a checkpoint the
toolkit saved, loaded as transformers' LlamaForCausalLM) on the same batches.

The spec (JSON, written by the bench) holds:
  model_dir          a `saveCausalLm` directory (config.json + model.safetensors)
  train              {lr, weight_decay, max_grad_norm, warmup, batches: [{inputs, targets, rows, length}]}
                     AdamW steps on the very batches the toolkit's onnx run trained on (the first
                     `warmup` steps untimed), next-token cross-entropy of logits against targets
                     (already shifted), gradient clipping; tokens/s over the timed steps
  generate           [{prompts: [[ids]], new_tokens}]: greedy `generate` with transformers' KV cache
                     and without it (use_cache=False: the full sequence every step), tokens/s (median
                     of --repeats runs), tokens
Prints one JSON line.

    tools/reference/.venv/bin/python tools/reference/mateconv_torch.py SPEC.json --threads 2
"""

import argparse
import json
import os
import sys
import time

# Before torch loads OpenMP: idle threads sleep instead of spinning. On a shared, oversubscribed
# machine spinning threads lose their cores to the other processes and PyTorch ran 6x slower at 2
# threads (20 single-token forwards of cpu-small: 1.49 s spinning, 0.20 s passive, load 9). The
# toolkit's onnxruntime sessions do the same (allowSpinning false).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import transformers  # noqa: E402
from transformers import LlamaForCausalLM  # noqa: E402


def train(model, spec):
    opt = torch.optim.AdamW(model.parameters(), lr=spec["lr"], weight_decay=spec["weight_decay"], betas=(0.9, 0.999), eps=1e-8)
    model.train()
    vocab = model.config.vocab_size
    tokens, seconds, losses = 0, 0.0, []
    parts = {"forward_s": 0.0, "backward_s": 0.0, "optimizer_s": 0.0}
    for i, b in enumerate(spec["batches"]):
        shape = (b["rows"], b["length"])
        inputs = torch.tensor(b["inputs"], dtype=torch.long).view(shape)
        targets = torch.tensor(b["targets"], dtype=torch.long).view(shape)
        start = time.perf_counter()
        logits = model(inputs).logits
        loss = F.cross_entropy(logits.view(-1, vocab), targets.view(-1))
        forward = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        backward = time.perf_counter()
        if spec["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec["max_grad_norm"])
        opt.step()
        end = time.perf_counter()
        losses.append(float(loss))
        if i >= spec["warmup"]:
            tokens += inputs.numel()
            seconds += end - start
            for key, dt in (("forward_s", forward - start), ("backward_s", backward - forward), ("optimizer_s", end - backward)):
                parts[key] += dt
    steps = len(spec["batches"]) - spec["warmup"]
    return {"tokens_per_s": tokens / seconds, "step_s": seconds / steps, "steps": steps, "first_loss": losses[0], "last_loss": losses[-1], **{k: v / steps for k, v in parts.items()}}


def generate(model, run, use_cache, repeats):
    model.eval()
    model.generation_config.eos_token_id = None  # exactly new_tokens per row, as the toolkit's runs
    model.generation_config.pad_token_id = 0
    prompts = torch.tensor(run["prompts"], dtype=torch.long)  # equal lengths: no padding
    kwargs = dict(do_sample=False, use_cache=use_cache, attention_mask=torch.ones_like(prompts))
    with torch.no_grad():
        model.generate(prompts, max_new_tokens=2, **kwargs)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = model.generate(prompts, max_new_tokens=run["new_tokens"], **kwargs)
            times.append(time.perf_counter() - start)
    seconds = sorted(times)[len(times) // 2]  # the median: the shared machine's load moves
    new = out[:, prompts.shape[1]:]
    return {"batch": prompts.shape[0], "cache": use_cache, "seconds": seconds, "tokens_per_s": new.numel() / seconds, "tokens": new.tolist()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("spec")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed generate runs per row (median)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = json.loads(open(args.spec).read())
    result = {"torch": torch.__version__, "transformers": transformers.__version__, "threads": torch.get_num_threads(), "omp_wait_policy": os.environ["OMP_WAIT_POLICY"]}
    model = LlamaForCausalLM.from_pretrained(spec["model_dir"], dtype=torch.float32)
    result["params"] = sum(p.numel() for p in model.parameters())
    # Generation first, from the saved weights (training would change them).
    result["generate"] = [generate(model, run, use_cache, args.repeats) for run in spec.get("generate", []) for use_cache in (True, False)]
    if spec.get("train"):
        result["train"] = train(model, spec["train"])
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
