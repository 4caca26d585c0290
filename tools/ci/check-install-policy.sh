#!/usr/bin/env bash
# Checks that installing this repository never attempts onnxruntime-node's CUDA download (it is
# outside the npm registry, unreachable here and not needed: the CPU provider ships in the
# package). The mechanism is package.json's `allowScripts` ("onnxruntime-node": false), the field
# npm 11.16+ reads and npm 12 enforces; no environment variable and no .npmrc key is involved.
# Usage: tools/ci/check-install-policy.sh [npm-ci-output-file]
set -euo pipefail
cd "$(dirname "$0")/../.."
unset ONNXRUNTIME_NODE_INSTALL ONNXRUNTIME_NODE_INSTALL_CUDA npm_config_onnxruntime_node_install
fail() { echo "check-install-policy: $*" >&2; exit 1; }

node -e 'const p = require("./package.json"); if (p.allowScripts?.["onnxruntime-node"] !== false) process.exit(1)' \
  || fail 'package.json allowScripts must deny "onnxruntime-node"'
if [ -n "${1:-}" ] && grep -q 'Unknown project config' "$1"; then fail "npm warned about an unknown config: $(grep 'Unknown project config' "$1" | head -1)"; fi

# What `npm ci` does for the package's install script, run again in the foreground: with the
# script allowed it would try the download and fail here.
out=$(npm rebuild onnxruntime-node --foreground-scripts 2>&1) || fail "npm rebuild onnxruntime-node failed: $out"
if grep -qi 'Unknown project config' <<<"$out"; then fail "npm warned: $(grep -i 'Unknown project config' <<<"$out" | head -1)"; fi
if ls node_modules/onnxruntime-node/bin/napi-v6/*/*/libonnxruntime_providers_* >/dev/null 2>&1; then
  fail 'onnxruntime-node provider libraries were downloaded'
fi
echo 'check-install-policy: onnxruntime-node install script denied (no CUDA download attempted), no unknown npm config'
