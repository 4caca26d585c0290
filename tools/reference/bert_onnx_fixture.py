"""An optimum-layout ONNX masked LM, exported by PyTorch, for @proj/models' ONNX import tests.

Hugging Face `optimum` exports a BertForMaskedLM as a directory with model.onnx (inputs input_ids,
attention_mask, token_type_ids; output logits [batch, sequence, vocab]; dynamic batch and sequence
axes; made by torch.onnx.export's TorchScript exporter at opset 14), config.json and the tokenizer
files. This script makes the same layout from the tiny BERT fixture (packages/models/test/fixtures/
tiny-bert, a random-init BertForMaskedLM made by bert_fixture.py) without optimum itself (optimum
pins transformers 4.x), so the TS side is tested on a file that PyTorch, not our exporter, wrote.

Writes packages/models/test/fixtures/tiny-bert-onnx/:
  model.onnx, config.json, vocab.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json
  expected.json: a padded batch (ids, masks, types) with PyTorch's logits and onnxruntime's, the
                 max abs difference, the onnx.checker verdict, the sha256 of model.onnx, versions.

Run from the repo root: tools/reference/.venv/bin/python tools/reference/bert_onnx_fixture.py
"""
import hashlib
import json
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers
from transformers import BertForMaskedLM, BertTokenizerFast

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SOURCE = os.path.join(ROOT, 'packages', 'models', 'test', 'fixtures', 'tiny-bert')
OUT = os.path.join(ROOT, 'packages', 'models', 'test', 'fixtures', 'tiny-bert-onnx')
OPSET = 14  # optimum's default for BERT
TOLERANCE = 1e-4
# Characters from the fixture's vocabulary, plus a [MASK] and an out-of-vocabulary character.
TEXTS = ['一丁七上下不与', '三[MASK]为主', '乐乒乓', '人什仁好']


class LogitsOnly(torch.nn.Module):
    """BertForMaskedLM returning only the logits tensor, as optimum's masked-lm export does."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids).logits


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    model = BertForMaskedLM.from_pretrained(SOURCE).eval()
    tokenizer = BertTokenizerFast.from_pretrained(SOURCE)
    tokenizer.save_pretrained(OUT)  # tokenizer.json + tokenizer_config.json (transformers 5)
    shutil.copy(os.path.join(SOURCE, 'vocab.txt'), OUT)  # as hub checkpoints (and optimum exports) have it too
    model.config.save_pretrained(OUT)

    # eval() on the wrapper: the exporter restores the wrapper's training flag recursively afterwards.
    wrapper = LogitsOnly(model).eval()
    batch = tokenizer(TEXTS, padding=True, return_tensors='pt')
    inputs = (batch['input_ids'], batch['attention_mask'], batch['token_type_ids'])
    axes = {0: 'batch_size', 1: 'sequence_length'}
    path = os.path.join(OUT, 'model.onnx')
    torch.onnx.export(
        wrapper,
        inputs,
        path,
        input_names=['input_ids', 'attention_mask', 'token_type_ids'],
        output_names=['logits'],
        dynamic_axes={'input_ids': axes, 'attention_mask': axes, 'token_type_ids': axes, 'logits': axes},
        opset_version=OPSET,
        do_constant_folding=True,
        dynamo=False,
    )
    onnx.checker.check_model(onnx.load(path), full_check=True)

    with torch.no_grad():
        torch_logits = wrapper(*inputs).numpy()
    session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
    feeds = {name: t.numpy().astype(np.int64) for name, t in zip(['input_ids', 'attention_mask', 'token_type_ids'], inputs)}
    (ort_logits,) = session.run(['logits'], feeds)
    diff = float(np.abs(torch_logits - ort_logits).max())
    if diff > TOLERANCE:
        raise SystemExit(f'onnxruntime and PyTorch differ by {diff} > {TOLERANCE}')

    with open(path, 'rb') as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    expected = {
        'texts': TEXTS,
        'shape': list(torch_logits.shape),
        'input_ids': batch['input_ids'].tolist(),
        'attention_mask': batch['attention_mask'].tolist(),
        'token_type_ids': batch['token_type_ids'].tolist(),
        'torch_logits': [round(float(v), 6) for v in torch_logits.reshape(-1)],
        'verdict': {
            'onnx_checker_full_check': 'ok',
            'opset': OPSET,
            'onnxruntime_vs_torch_max_abs_diff': diff,
            'model_onnx_sha256': sha,
            'versions': {'torch': torch.__version__, 'transformers': transformers.__version__, 'onnx': onnx.__version__, 'onnxruntime': ort.__version__},
        },
    }
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f, separators=(',', ':'))
        f.write('\n')
    print(json.dumps(expected['verdict'], indent=2))


if __name__ == '__main__':
    main()
