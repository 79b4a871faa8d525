#!/usr/bin/env bash
# On a GPU machine with PyTorch (CUDA) but no Node: build the addon against PyTorch's libtorch
# (bench/cuda/build-addon.sh), then run the dml CPU-vs-CUDA check and the 60,000-embedding
# metrics benchmark on CUDA. Carry dist, .device and node_modules/node-addon-api.
# Usage (repository root): bash bench/metrics-device.sh OUTDIR
set -euo pipefail
OUT=${1:-/tmp/out}
mkdir -p "$OUT"
source bench/cuda/build-addon.sh
node dist/bench/metrics-cuda.js --device cuda | tee "$OUT/metrics-cuda.json"
node dist/bench/metrics.js --device cuda | tee "$OUT/metrics-60k-cuda.json"
