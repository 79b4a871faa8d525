#!/usr/bin/env bash
# On a GPU machine with PyTorch (CUDA) but no Node: build the addon against PyTorch's libtorch
# (as bench/cuda/device-run.sh does), then run the dml CPU-vs-CUDA check and the 60,000-embedding
# metrics benchmark on CUDA. Carry dist, .device and node_modules/node-addon-api.
# Usage (repository root): bash bench/metrics-device.sh OUTDIR
set -euo pipefail
OUT=${1:-/tmp/out}
mkdir -p "$OUT" /tmp/node/bin /tmp/node/include build/Release
xz -dc .device/node.xz > /tmp/node/bin/node && chmod +x /tmp/node/bin/node
tar xJf .device/node-include.tar.xz -C /tmp/node/include
export PATH=/tmp/node/bin:$PATH
TORCH=$(python3 -c "import torch, os; print(os.path.dirname(torch.__file__))")
ABI=$(python3 -c "import torch; print(int(torch.compiled_with_cxx11_abi()))")
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
FLAGS="-std=c++17 -O2 -fPIC -DNAPI_CPP_EXCEPTIONS -DNAPI_VERSION=8 -D_GLIBCXX_USE_CXX11_ABI=$ABI -I/tmp/node/include/node -Inode_modules/node-addon-api -I$TORCH/include -I$TORCH/include/torch/csrc/api/include -Wno-deprecated-declarations"
for f in native/*.cc; do g++ $FLAGS -c "$f" -o "/tmp/$(basename "$f" .cc).o" & done; wait
g++ -shared /tmp/*.o -o build/Release/mdprop.node -L"$TORCH/lib" -Wl,-rpath,"$TORCH/lib" -Wl,--no-as-needed -lc10 -ltorch_cpu -ltorch -lc10_cuda -ltorch_cuda
node dist/bench/metrics-cuda.js --device cuda | tee "$OUT/metrics-cuda.json"
node dist/bench/metrics.js --device cuda | tee "$OUT/metrics-60k-cuda.json"
