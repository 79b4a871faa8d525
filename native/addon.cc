// Module entry: registers the handle class and the function groups.
#include "common.h"

namespace mdprop {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitCpuAllocator(env, exports);  // first, before any tensor exists
  InitOps(env, exports);
  InitTensorIO(env, exports);
  InitAutograd(env, exports);
  InitRuntime(env, exports);
  InitTorchZip(env, exports);
  InitC10d(env, exports);
  InitSyncBatchNorm(env, exports);
  InitProfiler(env, exports);
  return exports;
}

NODE_API_MODULE(mdprop, Init)

}  // namespace mdprop
