#!/usr/bin/env bash
# Installs onnxruntime's CUDA execution provider for onnxruntime-node, so training (`--engine onnx`),
# evaluation, export checks and serving can run on an NVIDIA GPU. UNTESTED ON A GPU: no machine of
# this repository has one. What is tested here is the path without a GPU: with these files in
# place and no CUDA driver, every session logs why CUDA failed and runs on the CPU.
#
# Where the files come from: the onnxruntime-gpu Python wheel of onnxruntime-node's exact version
# (its provider libraries are built from the same release as the Node binding's core library) and
# NVIDIA's CUDA runtime, cuBLAS, cuFFT, cuRAND, NVRTC and cuDNN wheels, through pip's
# `onnxruntime-gpu[cuda,cudnn]` extras. onnxruntime-gpu 1.30 on pip is built for CUDA 13 and cuDNN 9:
# the host needs an NVIDIA driver that supports CUDA 13 (libcuda.so.1 comes from the driver, never
# from a wheel).
#
#   bash tools/gpu/install-cuda-provider.sh [DIR]
#   source DIR/env.sh                     # LD_LIBRARY_PATH for the NVIDIA libraries
#   gap-relm train --providers cuda ...   # cuda alone fails loudly; the default cuda,cpu falls back
#
# DIR defaults to ${XDG_CACHE_HOME:-~/.cache}/proj-toolkit/cuda-provider-<version> (a few GB).
# Undo: delete DIR and the two libonnxruntime_providers_*.so files this script links into
# onnxruntime-node's binding directory (it prints their paths).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
version="$(node -p "require('onnxruntime-node/package.json').version")"
binding="$(node -p "require('node:path').join(require('node:path').dirname(require.resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', 'linux', process.arch)")"
dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/proj-toolkit/cuda-provider-$version}"

[ "$(uname -s)" = Linux ] || { echo "install-cuda-provider: the CUDA provider is for Linux; onnxruntime-node on $(uname -s) runs on its CPU (or DirectML / CoreML) providers" >&2; exit 2; }
[ -d "$binding" ] || { echo "install-cuda-provider: onnxruntime-node's binding directory $binding is missing; run npm ci first" >&2; exit 2; }
command -v "$python" >/dev/null || { echo "install-cuda-provider: $python not found; set PYTHON to a Python 3.10+ with pip" >&2; exit 2; }

echo "install-cuda-provider: onnxruntime-gpu[cuda,cudnn]==$version into $dir/site" >&2
mkdir -p "$dir"
"$python" -m pip install --quiet --upgrade --target "$dir/site" --only-binary=:all: "onnxruntime-gpu[cuda,cudnn]==$version" nvidia-cublas

capi="$dir/site/onnxruntime/capi"
for lib in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
  [ -f "$capi/$lib" ] || { echo "install-cuda-provider: $capi/$lib is missing from the wheel" >&2; exit 1; }
  ln -sf "$capi/$lib" "$binding/$lib"
  echo "install-cuda-provider: linked $binding/$lib -> $capi/$lib" >&2
done

# Every lib directory of the NVIDIA wheels (nvidia/<component>/lib) on LD_LIBRARY_PATH.
libs="$(find "$dir/site/nvidia" -maxdepth 3 -type d -name lib | sort | paste -sd: -)"
printf 'export LD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"\n' "$libs" > "$dir/env.sh"
echo "install-cuda-provider: done; now: source $dir/env.sh" >&2
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1'; then
  echo "install-cuda-provider: no libcuda.so.1 (NVIDIA driver) on this machine: sessions will log why CUDA failed and run on the CPU" >&2
fi
