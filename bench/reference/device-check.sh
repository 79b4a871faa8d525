#!/usr/bin/env bash
# On a CUDA machine (PyTorch installed, no Node): build the addon against PyTorch's libtorch, then
#  1. compare-step on the GPU and on the CPU (2 threads; an idle machine, the same libtorch
#     version on both sides), and
#  2. mdprop train --device cuda on a small folder dataset: a whole run, and a run stopped after
#     one epoch and resumed, whose metrics are compared.
# Expects .device/ (node binary and Node-API headers, as bench/cuda/device-run.sh) and
# .devcarry/bundle.tar.xz (the runtime node_modules, dist/ and a folder dataset at
# .devcarry/mnist-png). Usage from the repository root: bash bench/reference/device-check.sh OUTDIR
set -euo pipefail
OUT=${1:-/tmp/out}
tar xJf .devcarry/bundle.tar.xz
source bench/cuda/build-addon.sh
export MDPROP_QUIET=1
node dist/bench/compare-step.js --python python3 --device cuda --threads 2 --steps 20 --warmup 3 --rounds 2 | tee "$OUT/compare-cuda.json"
node dist/bench/compare-step.js --python python3 --device cpu --threads 2 --steps 5 --rounds 2 | tee "$OUT/compare-cpu.json"
TRAIN="--dataset folder --data-root .devcarry/mnist-png --method mdprop --arch resnet18 --channels 3 --image-size 32 --test-resize 32 --batch-size 32 --lr 1e-3 --device cuda --threads 2"
time node dist/src/cli/main.js train $TRAIN --epochs 3 --out /tmp/whole > "$OUT/train-whole.json"
node dist/src/cli/main.js train $TRAIN --epochs 1 --out /tmp/split > /dev/null
node dist/src/cli/main.js train --resume /tmp/split --epochs 3 > "$OUT/train-resumed.json"
cp /tmp/whole/metrics.jsonl "$OUT/metrics-whole.jsonl"; cp /tmp/split/metrics.jsonl "$OUT/metrics-resumed.jsonl"
ls /tmp/whole /tmp/whole/checkpoint | tee "$OUT/run-files.txt"
