"""Loads a Gap-ReLM saved BY TS with Python (transformers + PyTorch) and records the verdict.

packages/models/test/fixtures/gap-relm-saved-by-ts/ is written by its make.ts (GapRelm.save of a
tiny random model with unshared P-tuning prompts) together with ts-outputs.json: one planner call
and one infiller call, padded inputs and raw logits. This script
  1. loads infiller/ with transformers' BertForMaskedLM.from_pretrained and records the loading
     info (missing / unexpected / mismatched keys) and whether the decoder is tied;
  2. loads the whole model as tools/reference/gap_relm_torch.py does (planner BertModel + op /
     insert heads + prompt encoders from planner/model.safetensors and
     infiller/prompt_encoder.safetensors) and compares its logits with the TS ones;
  3. writes python-load-verdict.json with the sha256 of every checkpoint file, which a TS test
     re-derives so the verdict stays tied to the committed files.

Run from the repo root: tools/reference/.venv/bin/python tools/reference/gap_relm_fixture.py
"""
import hashlib
import json
import os
import sys

import torch
import transformers
from transformers import BertForMaskedLM

sys.path.insert(0, os.path.dirname(__file__))
from gap_relm_torch import GapRelm, check  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FIXTURE = os.path.join(ROOT, 'packages', 'models', 'test', 'fixtures', 'gap-relm-saved-by-ts')
FILES = ['planner/model.safetensors', 'infiller/model.safetensors', 'infiller/prompt_encoder.safetensors']
TOLERANCE = 1e-4


def main() -> None:
    with open(os.path.join(FIXTURE, 'ts-outputs.json'), encoding='utf8') as f:
        ts = json.load(f)
    infiller, info = BertForMaskedLM.from_pretrained(os.path.join(FIXTURE, 'infiller'), output_loading_info=True)
    tied = infiller.cls.predictions.decoder.weight.data_ptr() == infiller.bert.embeddings.word_embeddings.weight.data_ptr()
    model = GapRelm.from_dir(FIXTURE)
    diffs = check(model, ts)
    loading = {k: [str(x) for x in v] for k, v in info.items()}
    ok = (
        not any(loading.values())
        and tied
        and diffs['planner_max_abs_diff'] < TOLERANCE
        and diffs['infiller_max_abs_diff'] < TOLERANCE
        and diffs['infiller_argmax_agree'] == diffs['infiller_rows']
    )
    sha = {}
    for name in FILES:
        with open(os.path.join(FIXTURE, name), 'rb') as f:
            sha[name] = hashlib.sha256(f.read()).hexdigest()
    verdict = {
        'verdict': 'pass' if ok else 'fail',
        'checked_by': f'tools/reference/gap_relm_fixture.py (torch {torch.__version__}, transformers {transformers.__version__})',
        'sha256': sha,
        'infiller_loading_info': loading,
        'infiller_decoder_tied_to_word_embeddings': tied,
        **diffs,
    }
    with open(os.path.join(FIXTURE, 'python-load-verdict.json'), 'w', encoding='utf8') as f:
        json.dump(verdict, f, indent=2)
        f.write('\n')
    print(json.dumps(verdict, indent=2))
    if not ok:
        raise SystemExit('gap_relm_fixture.py: Python does not load the TS-saved Gap-ReLM as TS does')


if __name__ == '__main__':
    main()
