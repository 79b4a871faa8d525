// Stand-in for a header that c10d's reducer.hpp includes but Debian's libtorch-dev does not ship
// (RPC's distributed autograd). The reducer only holds a shared pointer to the context and names
// its callback type, so declaring those two is enough for its layout. On the include path after
// libtorch's own folders: a libtorch that ships the real header (PyTorch's) uses that one.
#pragma once
#include <ATen/ATen.h>
#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {
class DistAutogradContext {
 public:
  using GradCallback = std::function<bool(at::Tensor&)>;
};
using ContextPtr = std::shared_ptr<DistAutogradContext>;
}  // namespace autograd
}  // namespace distributed
}  // namespace torch
