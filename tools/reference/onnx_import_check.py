"""Checks a BERT imported from ONNX by the toolkit (importBertOnnxToDirectory / `gap-relm pretrained
fetch`) with Python transformers: `BertModel.from_pretrained(hf_dir)` must load it with no missing or
unexpected keys, and its last_hidden_state must equal onnxruntime's on the original ONNX export
(within --tol) for a padded batch of sentences encoded by the imported tokenizer.

    # the tiny fixture (imported by the TS test helper below), or the real bge-small-zh-v1.5:
    npx tsx apps/gap-relm/src/cli.ts pretrained fetch bge-small-zh --from ../shared/models/bge-small-zh-v1.5 --cache-dir /tmp/c
    tools/reference/.venv/bin/python tools/reference/onnx_import_check.py \
        --hf-dir /tmp/c/pretrained/bge-small-zh/hf --onnx ../shared/models/bge-small-zh-v1.5/model.onnx \
        [--verdict packages/models/test/fixtures/tiny-bert-feature-extraction/python-load-verdict.json]

Prints the verdict as JSON (and writes it with --verdict); exit 1 on a mismatch.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import torch
import transformers
from transformers import BertModel, BertTokenizerFast

SENTENCES = [
    "我今天很高兴见到你。",
    "他门来了，我们一起去吃饭吧。",
    "北京是中华人民共和国的首都，也是全国的政治、文化中心。",
    "这个问题的答案其实很简单。",
    "机器学习模型需要大量的数据来训练，才能得到好的效果。",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hf-dir", required=True, help="the imported Hugging Face directory")
    parser.add_argument("--onnx", required=True, help="the original ONNX export")
    parser.add_argument("--tol", type=float, default=1e-4)
    parser.add_argument("--verdict", help="also write the verdict here")
    args = parser.parse_args()
    hf_dir, onnx_path = Path(args.hf_dir), Path(args.onnx)

    model, info = BertModel.from_pretrained(hf_dir, output_loading_info=True, add_pooling_layer=False)
    model.eval()
    tokenizer = BertTokenizerFast.from_pretrained(hf_dir)
    batch = tokenizer(SENTENCES, padding=True, return_tensors="np")
    # Ids beyond a tiny fixture's vocabulary are [UNK] already; the tokenizer is the export's.
    with torch.no_grad():
        ours = model(**{k: torch.from_numpy(v) for k, v in batch.items()}).last_hidden_state.numpy()
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    theirs = session.run(["last_hidden_state"], {k: v.astype(np.int64) for k, v in batch.items() if k in names})[0]
    mask = batch["attention_mask"].astype(bool)
    diff = float(np.abs(ours - theirs)[mask].max())

    record = json.loads((hf_dir / "onnx_import.json").read_text())
    verdict = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "imported_from_sha256": record.get("sha256"),
        "missing_keys": sorted(info["missing_keys"]),
        "unexpected_keys": sorted(info["unexpected_keys"]),
        "mismatched_keys": [list(map(str, m)) for m in info["mismatched_keys"]],
        "batch": list(ours.shape),
        "max_abs_diff_last_hidden_state": diff,
        "tolerance": args.tol,
    }
    ok = not verdict["missing_keys"] and not verdict["unexpected_keys"] and not verdict["mismatched_keys"] and diff < args.tol
    verdict["verdict"] = "ok" if ok else "mismatch"
    text = json.dumps(verdict, indent=2, ensure_ascii=False)
    print(text)
    if args.verdict:
        Path(args.verdict).write_text(text + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
