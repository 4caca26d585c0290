"""Reference AdamW / Adam updates from torch.optim for @proj/trainer's optimizer tests.

Writes packages/trainer/test/fixtures/optimizer-torch.json: for each case, the initial params,
the gradient and learning rate of each of 3 steps, and the params (and torch's exp_avg /
exp_avg_sq moments) after every step. Parameter "b" sits in a param group with weight_decay=0,
which is how the TS side's no-decay predicate (biases) must behave.

    tools/reference/.venv/bin/python tools/reference/optimizer_fixture.py
"""

import json
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parents[2] / "packages/trainer/test/fixtures/optimizer-torch.json"

CASES = [
    {"name": "adamw-default-betas", "optimizer": "adamw", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1},
    {"name": "adamw-gpt-betas", "optimizer": "adamw", "beta1": 0.8, "beta2": 0.95, "eps": 1e-6, "weight_decay": 0.5},
    {"name": "adam", "optimizer": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
]
LRS = [1e-2, 5e-3, 2e-3]


def as_list(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def run(case, seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(2, 3, generator=g, dtype=torch.float32).requires_grad_()
    b = torch.randn(3, generator=g, dtype=torch.float32).requires_grad_()
    init = {"w": as_list(w), "b": as_list(b)}
    groups = [{"params": [w], "weight_decay": case["weight_decay"]}, {"params": [b], "weight_decay": 0.0}]
    kw = dict(lr=LRS[0], betas=(case["beta1"], case["beta2"]), eps=case["eps"])
    opt = torch.optim.AdamW(groups, **kw) if case["optimizer"] == "adamw" else torch.optim.Adam(groups, **kw)
    steps = []
    for lr in LRS:
        # Gradients of mixed sign and scale, so bias correction and eps both matter.
        gw = torch.randn(2, 3, generator=g) * torch.tensor([[1.0, 0.01, 3.0], [0.5, -2.0, 1e-3]])
        gb = torch.randn(3, generator=g) * 0.1
        w.grad, b.grad = gw.float(), gb.float()
        for group in opt.param_groups:
            group["lr"] = lr
        opt.step()
        steps.append({
            "lr": lr,
            "grads": {"w": as_list(gw), "b": as_list(gb)},
            "params": {"w": as_list(w), "b": as_list(b)},
            "m": {"w": as_list(opt.state[w]["exp_avg"]), "b": as_list(opt.state[b]["exp_avg"])},
            "v": {"w": as_list(opt.state[w]["exp_avg_sq"]), "b": as_list(opt.state[b]["exp_avg_sq"])},
        })
    return {**case, "shapes": {"w": [2, 3], "b": [3]}, "init": init, "steps": steps}


def main():
    fixture = {
        "torch_version": torch.__version__,
        "generated_by": "tools/reference/optimizer_fixture.py",
        "cases": [run(case, seed=1234 + i) for i, case in enumerate(CASES)],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(Path.cwd()) if OUT.is_relative_to(Path.cwd()) else OUT}")


if __name__ == "__main__":
    main()
