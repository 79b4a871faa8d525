#!/usr/bin/env bash
# On a CUDA machine (PyTorch installed): mdprop against PyTorch on the GPU, fp32 then the reduced
# precisions, and the CPU comparison with bf16 and channels-last. About 5 minutes on an H100-class
# GPU. Set up as bench/reference/device-check.sh (.device/ and .devcarry/bundle.tar.xz).
# Usage from the repository root: bash bench/cuda/perf-check.sh OUTDIR
set -euo pipefail
OUT=${1:-/tmp/out}
tar xJf .devcarry/bundle.tar.xz
source bench/cuda/build-addon.sh
export MDPROP_QUIET=1
GPU="--python python3 --device cuda --threads 2 --steps 20 --warmup 3 --rounds 3"
node dist/bench/compare.js $GPU --cases r18,r18-embed,r18-attack,r50 | tee "$OUT/compare-cuda-fp32.json"
node dist/bench/compare.js $GPU --cases r18,r50 --precision bf16 --memory-format channels-last | tee "$OUT/compare-cuda-bf16-cl.json"
# fp16: forward precision only (neither side scales the loss in these timings).
node dist/bench/compare.js $GPU --cases r18,r50 --precision fp16 --memory-format channels-last | tee "$OUT/compare-cuda-fp16-cl.json"
CPU="--python python3 --device cpu --threads 2 --steps 3 --warmup 1 --rounds 3"
node dist/bench/compare.js $CPU --cases r18 --precision bf16 --memory-format channels-last | tee "$OUT/compare-cpu-bf16-cl.json"
