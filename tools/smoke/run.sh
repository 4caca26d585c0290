#!/usr/bin/env bash
# Consumer smoke test: pack every publishable package and the app, install the tarballs into a
# fresh project outside the workspace (third-party deps from the registry), and use them there
# exactly as a user would: consumer.mjs (ESM), consumer.cjs (CJS) and the gap-relm binary.
# Catches what unit tests inside the workspace cannot: a file missing from `files`, a wrong
# `exports` path, a runtime dependency that only resolves through the workspace root.
# ONNX too: onnxruntime-node is installed with its postinstall skipped (no CUDA download), so its
# CPU binding must load from the tarball; both consumers export the tiny Gap-ReLM to ONNX, run it
# with providers ['cuda', 'cpu'] (must fall back to cpu) and must correct as tfjs does, and so must
# `gap-relm predict --engine onnx`, also from the weights-free directory `gap-relm export --output` writes.
#
# Usage, from the repository root after `npx nx run-many -t build`: tools/smoke/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
start=$SECONDS

work=$(mktemp -d "${TMPDIR:-/tmp}/proj-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/tarballs" "$work/app"

# Every workspace that is not private: the 7 libraries and the 3 apps.
workspaces=()
for pkg in packages/*/package.json apps/*/package.json; do
  if node -e 'process.exit(require(process.argv[1]).private ? 1 : 0)' "$root/$pkg"; then
    workspaces+=(--workspace "$(dirname "$pkg")")
  fi
done
for ws in packages/*/ apps/*/; do
  [ -d "$ws/dist" ] || { echo "smoke: $ws has no dist/; build first (npx nx run-many -t build)" >&2; exit 1; }
done
npm pack "${workspaces[@]}" --pack-destination "$work/tarballs" --silent >/dev/null
tarballs=("$work"/tarballs/*.tgz)
echo "ok: packed ${#tarballs[@]} packages"
[ "${#tarballs[@]}" -eq 10 ] || { echo "smoke: expected 10 tarballs, got ${#tarballs[@]}" >&2; exit 1; }

cd "$work/app"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
# All tarballs at once, so @proj/* dependencies resolve to the tarballs and never to the registry.
npm_config_onnxruntime_node_install=skip ONNXRUNTIME_NODE_INSTALL=skip \
  npm install --no-audit --no-fund --loglevel=error "${tarballs[@]}"
echo "ok: npm install of the tarballs ($((SECONDS - start)) s so far)"

cp "$root/tools/smoke/checks.cjs" "$root/tools/smoke/consumer.mjs" "$root/tools/smoke/consumer.cjs" .
node consumer.mjs model   # also leaves its tiny saved Gap-ReLM in model/ for the binary below
node consumer.cjs

# The app: its bin, and the data it bundles.
npx --no-install gap-relm --help >help.txt
grep -q 'compile' help.txt || { echo "smoke: gap-relm --help does not list compile" >&2; exit 1; }
echo "ok: gap-relm --help"
npx --no-install gap-relm compile --input node_modules/@proj/gap-relm/data/sighan/sighan15-test.txt \
  --output out.jsonl --no-progress >compile.log
lines=$(wc -l <out.jsonl)
[ "$lines" -eq 1100 ] || { echo "smoke: gap-relm compile wrote $lines lines, expected 1100" >&2; cat compile.log >&2; exit 1; }
echo "ok: gap-relm compile of the bundled SIGHAN 2015 test set (1100 records)"

# The app on ONNX: `predict --engine onnx` exports model/onnx/ on first use, falls back from cuda
# to cpu (the CUDA provider was never downloaded) and must write what `--engine tfjs` writes.
sentence='我们今天去公园散布。'
npx --no-install gap-relm predict --model model --text "$sentence" --no-progress >tfjs.txt 2>tfjs.log \
  || { echo "smoke: gap-relm predict --engine tfjs failed" >&2; cat tfjs.log >&2; exit 1; }
npx --no-install gap-relm predict --model model --text "$sentence" --engine onnx --providers cuda,cpu --no-progress >onnx.txt 2>onnx.log \
  || { echo "smoke: gap-relm predict --engine onnx failed" >&2; cat onnx.log >&2; exit 1; }
for want in 'onnx: exported' 'onnx: provider cuda not installed' 'engine: onnx (provider cpu'; do
  grep -qF "$want" onnx.log || { echo "smoke: gap-relm predict --engine onnx did not log '$want'" >&2; cat onnx.log >&2; exit 1; }
done
cmp -s tfjs.txt onnx.txt || { echo "smoke: predict --engine onnx wrote '$(cat onnx.txt)', --engine tfjs '$(cat tfjs.txt)'" >&2; exit 1; }
echo "ok: gap-relm predict --engine onnx (exported on first use, cuda → cpu) = --engine tfjs: $(cat onnx.txt)"

# `export --output` writes a weights-free serving directory; predict runs from it alone.
npx --no-install gap-relm export --model model --output serving --backend cpu >export.json 2>export.log \
  || { echo "smoke: gap-relm export failed" >&2; cat export.log >&2; exit 1; }
[ ! -e serving/planner/model.safetensors ] || { echo "smoke: gap-relm export --output copied weights" >&2; exit 1; }
npx --no-install gap-relm predict --model serving --text "$sentence" --engine onnx --providers cpu --no-progress >serving.txt 2>serving.log \
  || { echo "smoke: gap-relm predict from the serving directory failed" >&2; cat serving.log >&2; exit 1; }
cmp -s tfjs.txt serving.txt || { echo "smoke: predict from the serving directory wrote '$(cat serving.txt)', --engine tfjs '$(cat tfjs.txt)'" >&2; exit 1; }
echo "ok: gap-relm export --output (weights-free serving directory) = --engine tfjs"

# mateconv: prepare tokenizes in worker threads (dist/lm-tokenize-worker.js of @proj/models) with the
# tokenizers binding from the registry and the minimind tokenizer the app bundles.
npx --no-install mateconv prepare --input node_modules/@proj/gap-relm/data/corpus/wiki.zh-cn.txt \
  --output-dir packed --threads 2 --no-progress >prepare.json 2>prepare.log \
  || { echo "smoke: mateconv prepare failed" >&2; cat prepare.log >&2; exit 1; }
docs=$(node -e 'console.log(require("./packed/stats.json").documents)')
[ "$docs" -eq 46605 ] || { echo "smoke: mateconv prepare packed $docs documents, expected 46605" >&2; cat prepare.log >&2; exit 1; }
echo "ok: mateconv prepare of the bundled corpus on 2 worker threads ($docs documents)"
npx --no-install mateconv pretrain --data packed --preset tiny --seq-len 16 --batch-size 4 --max-steps 2 \
  --warmup-steps 1 --backend wasm --output-dir pretrain >pretrain.json 2>pretrain.log \
  || { echo "smoke: mateconv pretrain failed" >&2; cat pretrain.log >&2; exit 1; }
[ -f pretrain/final/model.safetensors ] || { echo "smoke: mateconv pretrain wrote no final/model.safetensors" >&2; cat pretrain.log >&2; exit 1; }
echo "ok: mateconv pretrain, 2 steps of the tiny preset on wasm (final/ in LlamaConfig layout)"

# sgdd: the bin runs from its tarball, and a phase config is validated (yaml from the registry) before any work.
npx --no-install sgdd --help >sgdd-help.txt 2>&1 || { echo "smoke: sgdd --help failed" >&2; cat sgdd-help.txt >&2; exit 1; }
for cmd in prepare train sample eval export demo; do
  grep -q "^  $cmd" sgdd-help.txt || { echo "smoke: sgdd --help does not list $cmd" >&2; cat sgdd-help.txt >&2; exit 1; }
done
printf 'phase: reconstruction\ndata: prepared\ncolour: red\n' >sgdd-bad.yaml
code=0; npx --no-install sgdd train --config sgdd-bad.yaml >/dev/null 2>sgdd-bad.log || code=$?
[ "$code" -eq 2 ] && grep -q 'unknown key "colour"' sgdd-bad.log || { echo "smoke: sgdd train with an unknown config key exited $code" >&2; cat sgdd-bad.log >&2; exit 1; }
echo "ok: sgdd --help lists its commands; a phase config with an unknown key is one line and exit 2"

echo "smoke: all checks passed in $((SECONDS - start)) s"
