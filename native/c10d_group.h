// The process group object of c10d.cc, shared with the collectives that run inside autograd
// (sync_batchnorm.cc). Only built with c10d (without MDPROP_NO_C10D).
#pragma once
#include "common.h"
#ifndef MDPROP_NO_C10D
#include <chrono>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/Types.hpp>
#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace mdprop {

// The backend is held as its own class, not as ProcessGroup: in libtorch 1.13 both derive from
// ProcessGroup, in 2.x from Backend, and the collectives have the same signatures in both.
struct Group {
  c10::intrusive_ptr<c10d::Store> store;
#ifdef USE_C10D_GLOO
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
#endif
#ifdef USE_C10D_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  int rank = 0;
  int size = 1;
  std::string backend;
  std::chrono::milliseconds timeout{0};

  bool alive() const {
#ifdef USE_C10D_GLOO
    if (gloo) return true;
#endif
#ifdef USE_C10D_NCCL
    if (nccl) return true;
#endif
    return false;
  }

  /** `collective(backend)` on whichever backend this group has. */
  template <typename F>
  c10::intrusive_ptr<c10d::Work> Run(F&& collective) {
#ifdef USE_C10D_GLOO
    if (gloo) return collective(gloo);
#endif
#ifdef USE_C10D_NCCL
    if (nccl) return collective(nccl);
#endif
    throw std::runtime_error("no backend");
  }

  void reset() {
#ifdef USE_C10D_GLOO
    gloo.reset();
#endif
#ifdef USE_C10D_NCCL
    nccl.reset();
#endif
    store.reset();
  }
};

inline Group* GroupOf(const Napi::Value& value, const char* fn) {
  if (!value.IsExternal()) throw Napi::TypeError::New(value.Env(), std::string(fn) + ": a process group handle expected");
  Group* group = value.As<Napi::External<Group>>().Data();
  if (!group->alive()) throw Napi::Error::New(value.Env(), std::string(fn) + ": the process group was destroyed");
  return group;
}

inline std::string Where(const Group& g, const std::string& collective) {
  return collective + " on rank " + std::to_string(g.rank) + " of " + std::to_string(g.size) + " (" + g.backend + ")";
}

/** Waits for `work`; c10d reports failures (peer closed, timeout) by throwing from wait(). */
inline void Finish(const c10::intrusive_ptr<c10d::Work>& work, const Group& g) {
  work->wait(g.timeout);
}

/** Every rank's copy of `input` (contiguous, same shape on every rank), in rank order. */
inline std::vector<at::Tensor> GatherFromRanks(Group& g, const at::Tensor& input) {
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < g.size; r++) outputs[0].push_back(at::empty_like(input));
  std::vector<at::Tensor> inputs{input};
  c10d::AllgatherOptions opts;
  opts.timeout = g.timeout;
  Finish(g.Run([&](auto& pg) { return pg->allgather(outputs, inputs, opts); }), g);
  return outputs[0];
}

}  // namespace mdprop

#endif  // MDPROP_NO_C10D
