#!/usr/bin/env bash
# Run on a GPU machine that has PyTorch (CUDA) but no Node: unpack a carried Node binary and the
# Node-API headers, build the addon against PyTorch's bundled libtorch, run the tensor tests and the
# CUDA check. Usage (from the repository root): bash bench/cuda/device-run.sh OUTDIR
set -euo pipefail
OUT=${1:-/tmp/out}
source bench/cuda/build-addon.sh
node --test --test-reporter=dot dist/test/torch/ 2>&1 | tail -15 | tee "$OUT/torch-tests.txt"
node dist/bench/cuda/check.js 64 20 | tee "$OUT/cuda-check.json"
if [ -f dist/bench/cuda/resnet.js ]; then node dist/bench/cuda/resnet.js | tee "$OUT/resnet.json"; fi
