#!/usr/bin/env bash
# Sets up a fresh Debian machine for mdprop: libtorch (and PyTorch for the parity checks), the npm
# dependencies, the native addon and the TypeScript build; puts `mdprop` on the PATH.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# libtorch-dev: the engine; libgloo-dev: the headers of its Gloo process group (data-parallel
# training; the library itself is in libtorch). libopenblas0-openmp: without it libtorch's matrix products fall back to
# the reference BLAS (measured 1.9 against 52 GFLOP/s for a 1024^3 float32 product on one core).
# python3-torch(vision): reference implementations for the parity tests and benchmarks only; the
# project itself never runs Python. chromium: the headless browser in which the tests open report.html.
# dataset-fashion-mnist: the official Fashion-MNIST files (60,000 train / 10,000 test) in
# /usr/share/datasets/fashion-mnist, which the fashion-mnist datasets read.
$SUDO apt-get install -y -q --no-install-recommends libtorch-dev libgloo-dev libopenblas0-openmp python3-torch python3-torchvision g++ make python3 chromium dataset-fashion-mnist

npm ci --no-audit --no-fund   # also builds the native addon (package.json "install")
npm run build
$SUDO npm link --no-audit --no-fund >/dev/null 2>&1 || echo "setup: could not link the mdprop command globally; use 'node dist/src/cli/main.js'"
# The link points at the compiled entry point; a rebuild that recreates the file (npm link runs
# "prepare" again) can leave it without its execute bit, so set it last.
chmod +x dist/src/cli/main.js
echo "setup: done ($(node -e "import('./dist/src/torch/index.js').then(t => console.log('libtorch ' + t.torchVersion))"))"
