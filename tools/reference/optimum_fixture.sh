#!/usr/bin/env bash
# A genuine optimum export of the tiny BERT fixture, for @proj/models' optimum-layout import test:
#   packages/models/test/fixtures/tiny-bert-optimum/ (model.onnx, config.json, tokenizer files).
# optimum-onnx pins transformers 4.x, while the reference venv (tools/reference/.venv) has 5.x, so
# it gets a side venv outside git that sees the reference venv's torch through a .pth file and
# installs its own transformers 4.x in front of it.
#
# Usage, from the repo root, after tools/reference/.venv exists: bash tools/reference/optimum_fixture.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${OPTIMUM_VENV:-../optimum-venv}
site=$(tools/reference/.venv/bin/python -c 'import site; print(site.getsitepackages()[0])')
if [ ! -x "$venv/bin/optimum-cli" ]; then
  python3 -m venv "$venv"
  "$venv/bin/python" -c 'import site, sys; open(site.getsitepackages()[0] + "/zz-reference-venv.pth", "w").write(sys.argv[1] + "\n")' "$site"
  "$venv/bin/pip" install -q optimum-onnx==0.1.0
fi
out=packages/models/test/fixtures/tiny-bert-optimum
rm -rf "$out.tmp"
"$venv/bin/optimum-cli" export onnx --model packages/models/test/fixtures/tiny-bert --task fill-mask "$out.tmp"
cp "$out/PROVENANCE.md" "$out.tmp/" 2>/dev/null || true
rm -rf "$out" && mv "$out.tmp" "$out"
"$venv/bin/pip" list 2>/dev/null | grep -E '^(optimum|optimum-onnx|transformers|torch|onnx) '
sha256sum "$out/model.onnx"
