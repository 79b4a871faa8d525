// Where libtorch lives, for binding.gyp: Debian's libtorch-dev by default, or the tree named by
// $LIBTORCH (include/ and lib/, e.g. a CUDA build or the torch folder of a PyTorch install).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function torchLocation() {
  const root = process.env.LIBTORCH;
  if (root) {
    const include = join(root, 'include');
    const lib = join(root, 'lib');
    return { root, includes: [include, join(include, 'torch/csrc/api/include')], libDir: lib, header: join(include, 'ATen/ATen.h') };
  }
  const multiarch = '/usr/lib/x86_64-linux-gnu';
  const libDir = existsSync(join(multiarch, 'libtorch.so')) ? multiarch : '/usr/lib';
  return { root: '/usr', includes: ['/usr/include', '/usr/include/torch/csrc/api/include'], libDir, header: '/usr/include/ATen/ATen.h' };
}

/** The C++ ABI the library was built with, read from its CMake config when there is one. */
function cxx11Abi(loc) {
  const config = join(loc.root, 'share/cmake/Torch/TorchConfig.cmake');
  if (existsSync(config)) {
    const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(readFileSync(config, 'utf8'));
    if (m) return m[1];
  }
  return '1';
}

function libraries(loc) {
  const libs = ['-L' + loc.libDir, '-Wl,-rpath,' + loc.libDir, '-Wl,--no-as-needed'];
  for (const name of ['c10', 'torch_cpu', 'torch', 'c10_cuda', 'torch_cuda']) {
    if (existsSync(join(loc.libDir, `lib${name}.so`))) libs.push('-l' + name);
  }
  libs.push('-Wl,--as-needed');
  return libs;
}

/**
 * Which c10d backends the addon compiles: Gloo when its headers are found (Debian: libgloo-dev;
 * PyTorch's own tree ships them), NCCL only when the library holds ProcessGroupNCCL and nccl.h is
 * found (a CUDA build; $NCCL_INCLUDE may name its folder), since the Debian library has neither.
 */
function c10dDefines(loc) {
  const defines = [];
  const searched = [...loc.includes, '/usr/include'];
  if (searched.some((dir) => existsSync(join(dir, 'gloo/algorithm.h')))) defines.push('USE_C10D_GLOO');
  const cuda = join(loc.libDir, 'libtorch_cuda.so');
  const ncclHeader = [...searched, process.env.NCCL_INCLUDE ?? ''].some((dir) => dir !== '' && existsSync(join(dir, 'nccl.h')));
  if (existsSync(cuda) && ncclHeader && readFileSync(cuda).includes('ProcessGroupNCCL')) defines.push('USE_C10D_NCCL');
  return defines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const loc = torchLocation();
  const what = process.argv[2];
  if (what === 'include') console.log(loc.includes.join(' '));
  else if (what === 'libs') console.log(libraries(loc).join(' '));
  else if (what === 'defines') console.log([`_GLIBCXX_USE_CXX11_ABI=${cxx11Abi(loc)}`, ...c10dDefines(loc)].join(' '));
  else console.log(JSON.stringify(loc));
}
