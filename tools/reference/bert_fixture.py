"""Reference fixtures for @proj/models' BERT (the TS tests read them; they never run Python).

1. Builds a TINY random BertForMaskedLM (fixed seed), saves it with save_pretrained(safe_serialization=True)
   into packages/models/test/fixtures/tiny-bert/ with a vocab.txt, runs it in eval mode on 3 inputs
   (different lengths, padding + attention masks, a sentence pair with token_type_ids) and writes
   expected.json: last hidden states, MLM logits at some positions, full logits for input 0. It also
   writes layers-reference.json: a bidirectional nn.LSTM on a small input (for layers/lstm.ts).
2. If packages/models/test/fixtures/tiny-bert-saved-by-ts/ holds a checkpoint SAVED BY TS (made by
   make.ts beside it), loads it with transformers, runs the same inputs and compares against the TS
   outputs recorded there (ts-outputs.json), writing python-load-verdict.json.

Run: tools/reference/.venv/bin/python tools/reference/bert_fixture.py   (deterministic: reruns leave files unchanged)
"""

import hashlib
import json
import os
import sys

import torch
import transformers
from transformers import BertConfig, BertForMaskedLM

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "packages/models/test/fixtures/tiny-bert")
TS_SAVED = os.path.join(ROOT, "packages/models/test/fixtures/tiny-bert-saved-by-ts")

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = SPECIAL + [chr(0x4E00 + i) for i in range(195)]  # 200 tokens: specials + CJK characters

# Three inputs: a sentence, a sentence pair (token types 0/1), a short sentence. Padded to 12 with [PAD]=0.
CLS, SEP, MASK = 2, 3, 4
SEQS = [
    ([CLS, 17, 33, MASK, 52, 9, SEP], [0] * 7),
    ([CLS, 100, 101, 5, SEP, 60, MASK, 199, 150, 8, 77, SEP], [0] * 5 + [1] * 7),
    ([CLS, 42, MASK, SEP], [0] * 4),
]
MAX_LEN = 12
# (batch, position) pairs whose MLM logits are recorded: masks, a pad position, ordinary tokens.
POSITIONS = [(0, 3), (1, 6), (2, 2), (0, 10), (1, 0)]


def batch():
    ids, mask, types = [], [], []
    for seq, tt in SEQS:
        pad = MAX_LEN - len(seq)
        ids.append(seq + [0] * pad)
        mask.append([1] * len(seq) + [0] * pad)
        types.append(tt + [0] * pad)
    return torch.tensor(ids), torch.tensor(mask), torch.tensor(types)


def rounded(t):
    return [float(f"{v:.7g}") for v in t.detach().reshape(-1).tolist()]


def run(model):
    ids, mask, types = batch()
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, token_type_ids=types, output_hidden_states=True)
    return out.hidden_states[-1], out.logits


def make_fixture():
    torch.manual_seed(1234)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        hidden_act="gelu",
        max_position_embeddings=64,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        pad_token_id=0,
        # Larger than BERT's 0.02 so activations are far from zero and a wrong mapping shows.
        initializer_range=0.2,
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )
    model = BertForMaskedLM(config)
    # HF initializes biases to 0 and LayerNorm to (1, 0): perturb them so their loading is tested too.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "LayerNorm" in name:
                p.add_(torch.randn_like(p) * 0.1)
    model.eval()
    os.makedirs(OUT, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    with open(os.path.join(OUT, "vocab.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(VOCAB) + "\n")

    hidden, logits = run(model)
    ids, mask, types = batch()
    expected = {
        "generator": f"tools/reference/bert_fixture.py (torch {torch.__version__}, transformers {transformers.__version__})",
        "input_ids": ids.tolist(),
        "attention_mask": mask.tolist(),
        "token_type_ids": types.tolist(),
        "lengths": [len(s) for s, _ in SEQS],
        "last_hidden_state": {"shape": list(hidden.shape), "values": rounded(hidden)},
        "mlm_positions": [list(p) for p in POSITIONS],
        "mlm_logits": {"shape": [len(POSITIONS), config.vocab_size], "values": rounded(torch.stack([logits[b, i] for b, i in POSITIONS]))},
        "full_logits_input0": {"shape": list(logits[0].shape), "values": rounded(logits[0])},
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f)

    # A bidirectional LSTM as in a P-tuning prompt encoder, for layers/lstm.ts.
    torch.manual_seed(99)
    lstm = torch.nn.LSTM(input_size=6, hidden_size=5, num_layers=1, bidirectional=True, batch_first=True)
    x = torch.randn(2, 4, 6)
    with torch.no_grad():
        y, _ = lstm(x)
    layers_ref = {
        "lstm": {
            "input_size": 6,
            "hidden_size": 5,
            "params": {n: {"shape": list(p.shape), "values": rounded(p)} for n, p in lstm.named_parameters()},
            "x": {"shape": list(x.shape), "values": rounded(x)},
            "y": {"shape": list(y.shape), "values": rounded(y)},
        }
    }
    with open(os.path.join(OUT, "layers-reference.json"), "w") as f:
        json.dump(layers_ref, f)
    print(f"wrote {OUT}: model.safetensors ({os.path.getsize(os.path.join(OUT, 'model.safetensors'))} bytes), expected.json, layers-reference.json")


def check_ts_saved():
    path = os.path.join(TS_SAVED, "model.safetensors")
    if not os.path.exists(path):
        print(f"no TS-saved checkpoint at {TS_SAVED} (run its make.ts first); skipping the load check")
        return
    with open(os.path.join(TS_SAVED, "ts-outputs.json")) as f:
        ts = json.load(f)
    model, info = BertForMaskedLM.from_pretrained(TS_SAVED, output_loading_info=True)
    model.eval()
    hidden, logits = run(model)
    diff_hidden = max(abs(a - b) for a, b in zip(rounded(hidden), ts["last_hidden_state"]["values"]))
    ts_logits = torch.stack([logits[b, i] for b, i in POSITIONS])
    diff_logits = max(abs(a - b) for a, b in zip(rounded(ts_logits), ts["mlm_logits"]["values"]))
    problems = {k: sorted(v) for k, v in info.items() if v}
    tied = model.cls.predictions.decoder.weight.data_ptr() == model.bert.embeddings.word_embeddings.weight.data_ptr()
    ok = not problems and tied and diff_hidden < 1e-4 and diff_logits < 1e-4
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    verdict = {
        "verdict": "pass" if ok else "fail",
        "checked_by": f"tools/reference/bert_fixture.py (torch {torch.__version__}, transformers {transformers.__version__})",
        "model_safetensors_sha256": sha,
        "loading_info": {k: sorted(v) for k, v in info.items()},
        "decoder_tied_to_word_embeddings": tied,
        "max_abs_diff_last_hidden_state": diff_hidden,
        "max_abs_diff_mlm_logits": diff_logits,
    }
    with open(os.path.join(TS_SAVED, "python-load-verdict.json"), "w") as f:
        json.dump(verdict, f, indent=2)
        f.write("\n")
    print(json.dumps(verdict, indent=2))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    if "--check-only" not in sys.argv:
        make_fixture()
    check_ts_saved()
