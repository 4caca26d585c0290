"""ONNX export reference check: onnx.checker (full_check) and onnxruntime against the tfjs forward pass.

1. Runs packages/models/test/fixtures/onnx/make-onnx-reference.ts (tsx) into a temp dir: it exports
   the tiny BERT fixture and a tiny Gap-ReLM planner / infiller and writes the tfjs outputs for
   2 batch sizes x 2 lengths.
2. Checks each .onnx with onnx.checker.check_model(full_check=True), runs onnxruntime (CPU) on the
   same inputs, and records the max abs difference per output.
3. Writes packages/models/test/fixtures/onnx/verdict.json (with the sha256 of the exported bytes,
   which a TS test re-derives so the verdict stays tied to the exporter code).

Run from the repo root: tools/reference/.venv/bin/python tools/reference/onnx_check.py
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FIXTURES = os.path.join(ROOT, 'packages', 'models', 'test', 'fixtures', 'onnx')
TOLERANCE = 1e-4


def main() -> int:
    with tempfile.TemporaryDirectory(prefix='onnx-check-') as out:
        subprocess.run(['npx', 'tsx', os.path.join(FIXTURES, 'make-onnx-reference.ts'), out], cwd=ROOT, check=True)
        with open(os.path.join(out, 'tfjs-outputs.json')) as f:
            ref = json.load(f)
        models = {}
        for key, file in (('bert', 'bert.onnx'), ('planner', 'planner.onnx'), ('infiller', 'infiller.onnx')):
            path = os.path.join(out, file)
            model = onnx.load(path)
            onnx.checker.check_model(model, full_check=True)
            session = ort.InferenceSession(path, providers=['CPUExecutionProvider'])
            cases = {}
            for case in ref['cases'][key]:
                feeds = {n: np.array(v['values'], dtype=np.int64).reshape(v['shape']) for n, v in case['inputs'].items()}
                names = list(case['outputs'].keys())
                got = session.run(names, feeds)
                diffs = {}
                for n, g in zip(names, got):
                    want = np.array(case['outputs'][n]['values'], dtype=np.float32).reshape(case['outputs'][n]['shape'])
                    if g.shape != want.shape:
                        raise SystemExit(f'onnx_check: {file} {case["name"]} {n}: onnxruntime shape {g.shape} != tfjs {want.shape}')
                    diffs[n] = float(np.max(np.abs(g - want)))
                cases[case['name']] = diffs
            worst = max(d for c in cases.values() for d in c.values())
            models[file] = {
                'checker_full_check': 'ok',
                'opset': model.opset_import[0].version,
                'ir_version': model.ir_version,
                'inputs': [i.name for i in model.graph.input],
                'outputs': [o.name for o in model.graph.output],
                'nodes': len(model.graph.node),
                'bytes': ref['bytes'][file],
                'sha256': ref['sha256'][file],
                'max_abs_diff': cases,
                'worst': worst,
                'pass': worst < TOLERANCE,
            }
    verdict = {
        'tool': 'tools/reference/onnx_check.py',
        'onnx': onnx.__version__,
        'onnxruntime': ort.__version__,
        'tolerance': TOLERANCE,
        'pass': all(m['pass'] for m in models.values()),
        'models': models,
    }
    with open(os.path.join(FIXTURES, 'verdict.json'), 'w') as f:
        json.dump(verdict, f, indent=2)
        f.write('\n')
    print(json.dumps({k: (v['worst'], v['pass']) for k, v in models.items()}, indent=2))
    return 0 if verdict['pass'] else 1


if __name__ == '__main__':
    sys.exit(main())
