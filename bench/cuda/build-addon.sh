#!/usr/bin/env bash
# Sourced by the GPU-machine scripts (that machine has PyTorch with CUDA but no Node): unpack the
# carried Node binary and Node-API headers from .device/, put node on the PATH, and build the
# addon against PyTorch's bundled libtorch with g++ directly. Run from the repository root.
mkdir -p /tmp/node/bin /tmp/node/include build/Release
xz -dc .device/node.xz > /tmp/node/bin/node && chmod +x /tmp/node/bin/node
tar xJf .device/node-include.tar.xz -C /tmp/node/include
export PATH=/tmp/node/bin:$PATH
TORCH=$(python3 -c "import torch, os; print(os.path.dirname(torch.__file__))")
ABI=$(python3 -c "import torch; print(int(torch.compiled_with_cxx11_abi()))")
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.get_device_name(0))"
FLAGS="${ADDON_DEFINES:-} -std=c++17 -O2 -fPIC -DNAPI_CPP_EXCEPTIONS -DNAPI_VERSION=8 -D_GLIBCXX_USE_CXX11_ABI=$ABI -I/tmp/node/include/node -Inode_modules/node-addon-api -I$TORCH/include -I$TORCH/include/torch/csrc/api/include -Inative/compat -Wno-deprecated-declarations"
build_start=$(date +%s)
for f in native/*.cc; do g++ $FLAGS -c "$f" -o "/tmp/$(basename "$f" .cc).o" & done; wait
# c10d's headers differ between libtorch versions: without a c10d.o the addon still builds, with
# process groups compiled out.
[ -f /tmp/c10d.o ] || g++ $FLAGS -DMDPROP_NO_C10D -c native/c10d.cc -o /tmp/c10d.o
g++ -shared /tmp/*.o -o build/Release/mdprop.node -L"$TORCH/lib" -Wl,-rpath,"$TORCH/lib" -Wl,--no-as-needed -lc10 -ltorch_cpu -ltorch -lc10_cuda -ltorch_cuda
echo "addon built in $(( $(date +%s) - build_start ))s"
