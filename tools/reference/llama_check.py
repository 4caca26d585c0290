"""Loads causal-LM checkpoints saved by this toolkit (`saveCausalLm`: config.json + model.safetensors
in Hugging Face's layout) with transformers' LlamaForCausalLM and records what it computes.

Default (the committed fixture): for each checkpoint of packages/models/test/fixtures/tiny-llama/
(made by its make.ts), load it with `LlamaForCausalLM.from_pretrained` (no missing or unexpected
weights allowed, lm_head tied exactly when config.json says so), run the ids of inputs.json in
float32 and write expected.json: the logits, greedy tokens from transformers' own `generate` with its
KV cache, the loading info, and the versions. llama-parity.test.ts compares the toolkit's logits and
tokens with them in Node alone (1e-4).

With --model-dir DIR [--ts-logits FILE]: check any checkpoint (e.g. a `mateconv pretrain` final/):
loading info and logits on random ids; with a JSON of the toolkit's logits [B][L][V] for the ids in
--ids-file, the max abs difference; exit 1 over --tol.

    npx tsx packages/models/test/fixtures/tiny-llama/make.ts
    tools/reference/.venv/bin/python tools/reference/llama_check.py
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

import torch
import transformers
from transformers import LlamaForCausalLM

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "packages/models/test/fixtures/tiny-llama"


def load(model_dir: Path):
    model, info = LlamaForCausalLM.from_pretrained(model_dir, output_loading_info=True, dtype=torch.float32)
    model.eval()
    config = json.loads((model_dir / "config.json").read_text())
    info = {k: sorted(v) if isinstance(v, (list, set)) else v for k, v in info.items() if k in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    problems = [f"{k}: {v}" for k, v in info.items() if v]
    tied = model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    if tied != bool(config.get("tie_word_embeddings", True)):
        problems.append(f"lm_head tied {tied}, config.json tie_word_embeddings {config.get('tie_word_embeddings')}")
    return model, info, tied, problems


def logits_of(model, ids):
    with torch.no_grad():
        return model(torch.tensor(ids, dtype=torch.long)).logits


def greedy(model, prompt, new_tokens):
    model.generation_config.eos_token_id = None  # the toolkit's check generates exactly new_tokens
    model.generation_config.pad_token_id = 0
    with torch.no_grad():
        out = model.generate(torch.tensor([prompt], dtype=torch.long), do_sample=False, max_new_tokens=new_tokens, use_cache=True)
    return out[0, len(prompt):].tolist()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fixture() -> int:
    inputs = json.loads((FIXTURE / "inputs.json").read_text())
    result = {
        "made_by": "tools/reference/llama_check.py",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "checkpoints": {},
    }
    failed = False
    for name in ("tied", "untied"):
        model_dir = FIXTURE / name
        model, info, tied, problems = load(model_dir)
        logits = logits_of(model, inputs["ids"])
        tokens = greedy(model, inputs["greedy_prompt"], inputs["greedy_new_tokens"])
        # Greedy without the cache, one full forward per token: transformers' cache must agree with itself.
        seq = list(inputs["greedy_prompt"])
        for _ in range(inputs["greedy_new_tokens"]):
            seq.append(int(logits_of(model, [seq])[0, -1].argmax()))
        if seq[len(inputs["greedy_prompt"]):] != tokens:
            problems.append("transformers' greedy tokens differ with and without its cache")
        result["checkpoints"][name] = {
            "class": type(model).__name__,
            "loading_info": info,
            "lm_head_tied": tied,
            "rope_parameters": getattr(model.config, "rope_parameters", None),
            "safetensors_sha256": sha256(model_dir / "model.safetensors"),
            "greedy_tokens": tokens,
            # 7 significant digits: far below the 1e-4 the test allows, a third of the file size.
            "logits": [[[float(f"{v:.7g}") for v in row] for row in seq_logits] for seq_logits in logits.tolist()],
            "problems": problems,
        }
        print(f"{name}: {type(model).__name__}, loading info {info}, lm_head tied {tied}, greedy {tokens}{'; PROBLEMS: ' + '; '.join(problems) if problems else ''}")
        failed |= bool(problems)
    (FIXTURE / "expected.json").write_text(json.dumps(result) + "\n")
    print(f"wrote {FIXTURE / 'expected.json'}")
    return 1 if failed else 0


def check_dir(args) -> int:
    model, info, tied, problems = load(Path(args.model_dir))
    print(f"{type(model).__name__}: loading info {info}, lm_head tied {tied}")
    if args.ts_logits:
        ids = json.loads(Path(args.ids_file).read_text())
        ours = torch.tensor(json.loads(Path(args.ts_logits).read_text()))
        diff = float((logits_of(model, ids) - ours).abs().max())
        print(f"max |transformers - toolkit| logits: {diff:.3e} (tol {args.tol})")
        if diff > args.tol:
            problems.append(f"logits differ by {diff}")
    for p in problems:
        print(f"PROBLEM: {p}")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", help="check this checkpoint instead of writing the fixture")
    parser.add_argument("--ts-logits", help="with --model-dir: the toolkit's logits [B][L][V] (JSON) for --ids-file")
    parser.add_argument("--ids-file", help="with --ts-logits: the ids [B][L] (JSON)")
    parser.add_argument("--tol", type=float, default=1e-4)
    args = parser.parse_args()
    torch.manual_seed(0)
    return check_dir(args) if args.model_dir else fixture()


if __name__ == "__main__":
    sys.exit(main())
