#!/usr/bin/env bash
# The main job: train a baseline and an MDProp model alike on the embedded Fashion-MNIST (classes
# 0-4 train, 5-9 test), evaluate both on clean and attacked queries, and compare them side by side.
# Usage: bash scripts/fashion-mnist.sh [OUT_DIR] [extra `mdprop train` flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/fashion-mnist}
shift || true
MDPROP="node dist/src/cli/main.js"
mkdir -p "$OUT"

for method in baseline mdprop; do
  if [ -f "$OUT/$method/summary.json" ]; then
    echo "== $method: already trained ($OUT/$method)"
  elif [ -d "$OUT/$method/checkpoint" ]; then
    echo "== $method: resuming"
    $MDPROP train --resume "$OUT/$method"
  else
    echo "== $method: training"
    $MDPROP train --dataset fashion-mnist --method "$method" --seed 0 --out "$OUT/$method" "$@"
  fi
  echo "== $method: evaluating under attack"
  $MDPROP eval --run "$OUT/$method" --attacks stax,mtax,untargeted --eps 0,0.03,0.1,0.3 --iters 10 --limit 500
done

echo "== comparison (ratios: MDProp over baseline)"
$MDPROP compare "$OUT/baseline" "$OUT/mdprop" --out "$OUT/comparison.json"
