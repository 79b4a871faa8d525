// Per-operator time from libtorch's own profiler: which aten ops a step spends its time in, the
// same table PyTorch's profiler prints, so the two engines can be compared op by op.
#include "common.h"
#include <map>
#include <string>
#include <vector>

#if __has_include(<torch/csrc/autograd/profiler_legacy.h>)
#include <torch/csrc/autograd/profiler_legacy.h>
#define MDPROP_HAS_PROFILER 1
#else
#define MDPROP_HAS_PROFILER 0
#endif

namespace mdprop {
namespace {

#if MDPROP_HAS_PROFILER
namespace prof = torch::autograd::profiler;

bool running = false;

Napi::Value ProfilerStart(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), "profilerStart", [&]() -> Napi::Value {
    if (running) throw std::runtime_error("the operator profiler is already running");
    prof::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
    running = true;
    return info.Env().Undefined();
  });
}

struct OpTotals {
  int64_t calls = 0;
  double totalUs = 0;  // from entering the op to leaving it
  double selfUs = 0;   // less the time in ops it called
};

/** Stops the profiler; returns [{name, calls, totalUs, selfUs}] over every thread's events. */
Napi::Value ProfilerStop(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), "profilerStop", [&]() -> Napi::Value {
    if (!running) throw std::runtime_error("the operator profiler is not running");
    running = false;
    const prof::thread_event_lists lists = prof::disableProfilerLegacy();
    std::map<std::string, OpTotals> totals;
    for (const auto& events : lists) {
      struct Open {
        const prof::LegacyEvent* push;
        double childUs;
      };
      std::vector<Open> stack;
      for (const auto& e : events) {
        if (e.kind() == prof::EventKind::PushRange) {
          stack.push_back({&e, 0.0});
        } else if (e.kind() == prof::EventKind::PopRange && !stack.empty()) {
          const Open open = stack.back();
          stack.pop_back();
          const double us = open.push->cpuElapsedUs(e);
          OpTotals& t = totals[open.push->name()];
          t.calls += 1;
          t.totalUs += us;
          t.selfUs += us - open.childUs;
          if (!stack.empty()) stack.back().childUs += us;
        }
      }
    }
    Napi::Env env = info.Env();
    Napi::Array out = Napi::Array::New(env, totals.size());
    uint32_t i = 0;
    for (const auto& [name, t] : totals) {
      Napi::Object row = Napi::Object::New(env);
      row.Set("name", name);
      row.Set("calls", static_cast<double>(t.calls));
      row.Set("totalUs", t.totalUs);
      row.Set("selfUs", t.selfUs);
      out.Set(i++, row);
    }
    return out;
  });
}

#else
// A libtorch without the legacy profiler API: the calls say so instead of failing the build.
Napi::Value ProfilerStart(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(), "profilerStart: the linked libtorch has no legacy operator profiler");
}
Napi::Value ProfilerStop(const Napi::CallbackInfo& info) { return ProfilerStart(info); }
#endif

}  // namespace

void InitProfiler(Napi::Env env, Napi::Object exports) {
  exports.Set("profilerStart", Napi::Function::New(env, ProfilerStart, "profilerStart"));
  exports.Set("profilerStop", Napi::Function::New(env, ProfilerStop, "profilerStop"));
}

}  // namespace mdprop
