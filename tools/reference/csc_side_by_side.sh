#!/usr/bin/env bash
# Gap-ReLM (`gap-relm demo`) and the plain BERT-CSC baseline (bert_csc_baseline.py, PyTorch) side by
# side: the same pretrained encoder, the same training data (the demo's train-mix.jsonl) and the same
# wall-clock training budget (the demo's measured training time), run one after the other so neither
# takes CPU from the other. Scores both on the bundled SIGHAN-15 test and prints one table.
#
#   npm ci && npx nx run-many -t build --projects=gap-relm
#   tools/reference/.venv/bin/pip install -r tools/reference/requirements.txt   # once
#   bash tools/reference/csc_side_by_side.sh [extra gap-relm demo flags, e.g. --train-steps 300,120,120]
#
# Output: runs/side-by-side/{summary.json, bert-csc/result.json}; the table on stdout, logs on stderr.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${OUT:-$root/runs/side-by-side}"
python="${PYTHON:-$root/tools/reference/.venv/bin/python}"
encoder="${ENCODER:-${XDG_CACHE_HOME:-$HOME/.cache}/proj-toolkit/pretrained/bge-small-zh/hf}"

mkdir -p "$(dirname "$out")"
node "$root/apps/gap-relm/dist/cli.js" demo --fresh --output-dir "$out" "$@" >"$out.demo.txt"
[ -d "$encoder" ] || { echo "csc_side_by_side: $encoder is missing (the demo fetches it; set ENCODER to a Hugging Face BERT directory)" >&2; exit 2; }
budget_minutes="$(node -e 'const s = require(process.argv[1]); console.log((s.train_seconds / 60).toFixed(2))' "$out/summary.json")"
echo "csc_side_by_side: baseline budget = the demo's training time, $budget_minutes min" >&2
# The baseline is also decoded with the demo model's similar-character prior (same table, same bonus).
prior=()
bonus="$(node -e 'console.log(require(process.argv[1]).similar_fill_bonus ?? 0)' "$out/model/final/gap_relm_config.json")"
if [ -f "$out/model/final/similar_chars.json" ] && [ "$bonus" != "0" ]; then
  prior=(--similar-chars "$out/model/final/similar_chars.json" --similar-fill-bonus "$bonus")
fi
"$python" "$root/tools/reference/bert_csc_baseline.py" --encoder "$encoder" --train-file "$out/train-mix.jsonl" \
  --budget-minutes "$budget_minutes" --output-dir "$out/bert-csc" "${prior[@]}" >/dev/null

node -e '
const [demo, base] = process.argv.slice(1).map((f) => require(f));
const g = demo.scores["SIGHAN-15 test"];
const pct = (x) => (100 * x).toFixed(1).padStart(6);
const row = (name, s, p, r, f, fpr) => console.log(`${name.padEnd(34)}${String(s).padStart(7)}${pct(p)}${pct(r)}${pct(f)}${pct(fpr)}`);
console.log(`SIGHAN-15 test, sentence-level correction (%); training budget ${demo.train_seconds} s each; load ${demo.load_average.start.join(" ")} at the start`);
console.log(`${"model".padEnd(34)}${"train s".padStart(7)}${"P".padStart(6)}${"R".padStart(6)}${"F1".padStart(6)}${"FPR".padStart(6)}`);
row(`Gap-ReLM (${demo.engine}, steps ${demo.train_steps})`, demo.train_seconds, g.precision, g.recall, g.f1, g.fpr);
const b = base.sighan15_sentence_correction;
row(`BERT-CSC (PyTorch, ${base.steps} steps)`, Math.round(base.train_seconds), b.precision, b.recall, b.f1, base.sighan15_fpr);
const p = base.with_similar_prior;
if (p) row(`  + similar prior ${p.similar_fill_bonus} (decode)`, Math.round(base.train_seconds), p.sighan15_sentence_correction.precision, p.sighan15_sentence_correction.recall, p.sighan15_sentence_correction.f1, p.sighan15_fpr);
' "$out/summary.json" "$out/bert-csc/result.json"
