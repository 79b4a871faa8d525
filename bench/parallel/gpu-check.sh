#!/usr/bin/env bash
# Data-parallel check for a GPU machine (a few minutes; unchecked so far: no GPU machine has run it
# yet). It builds the addon against PyTorch's bundled libtorch with the c10d backends that
# libtorch has (NCCL when nccl.h is found, Gloo when its headers are), then with one worker per GPU:
# collectives on CUDA tensors with hand-worked results and a 25 MiB all-reduce's bandwidth, and a
# short `mdprop train --nproc <GPUs> --device cuda` run of Fashion-MNIST MDProp.
# Usage (repository root, dist/ built, node_modules present): bash bench/parallel/gpu-check.sh OUTDIR
set -euo pipefail
OUT=${1:-/tmp/out}
mkdir -p "$OUT"
TORCH=$(python3 -c "import torch, os; print(os.path.dirname(torch.__file__))")
DEFINES=""
[ -f "$TORCH/include/gloo/algorithm.h" ] && DEFINES="$DEFINES -DUSE_C10D_GLOO"
NCCL_INC=$(python3 -c "import nvidia.nccl, os; print(os.path.join(list(nvidia.nccl.__path__)[0], 'include'))" 2>/dev/null || true)
if [ -n "$NCCL_INC" ] && [ -f "$NCCL_INC/nccl.h" ]; then DEFINES="$DEFINES -DUSE_C10D_NCCL -I$NCCL_INC"; fi
echo "c10d defines:$DEFINES" | tee "$OUT/c10d-defines.txt"
export ADDON_DEFINES="$DEFINES"
source bench/cuda/build-addon.sh
GPUS=$(python3 -c "import torch; print(torch.cuda.device_count())")
echo "GPUs: $GPUS" | tee -a "$OUT/c10d-defines.txt"
NPROC=$(( GPUS >= 2 ? GPUS : 2 ))  # with one GPU, two workers share it (Gloo or NCCL permitting)
node -e "import('./dist/src/parallel/index.js').then(p => console.log('backends', p.availableBackends().join(',')))" | tee -a "$OUT/c10d-defines.txt"
timeout 300 node dist/bench/parallel/gpu-collectives.js "$NPROC" "$OUT/gpu-collectives.json" 2>&1 | tee "$OUT/gpu-collectives.log"
MDPROP_QUIET=1 timeout 400 node dist/src/cli/main.js train --dataset fashion-mnist --method mdprop --epochs 1 --limit-train 2000 \
  --limit-test 1000 --batch-size 64 --threads 2 --device cuda --nproc "$NPROC" --dist-timeout 120 --out "$OUT/run" \
  > "$OUT/train-summary.json" 2> "$OUT/train.log" || echo "train failed: see train.log"
tail -5 "$OUT/train.log"
