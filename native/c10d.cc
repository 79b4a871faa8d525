// Process groups of torch.distributed (c10d): a TCP store for the rendezvous, then Gloo (CPU, and
// CUDA tensors where libtorch has CUDA) or NCCL (only when the libtorch in use was built with it).
// Collectives block the calling thread until done or until the group's timeout; a failure (a peer
// gone, a timeout) becomes a JS Error naming the collective, the rank and the world size.
// Written against libtorch 1.13's c10d; the collectives should also build with 2.x (there the
// backends derive from Backend), the reducer only with 1.x. Built with MDPROP_NO_C10D, the addon
// has no process groups at all (every function says so).
#include "common.h"
#include <torch/version.h>
#include "c10d_group.h"
#ifndef MDPROP_NO_C10D
#include <cstdlib>
#if TORCH_VERSION_MAJOR < 2
#define MDPROP_C10D_REDUCER
#include <torch/csrc/distributed/c10d/reducer.hpp>
#endif
#endif

namespace mdprop {
#ifdef MDPROP_NO_C10D
namespace {
Napi::Value Unavailable(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(), std::string("this build of the addon has no c10d process groups (libtorch ") + TORCH_VERSION + ")");
}
Napi::Value NoBackends(const Napi::CallbackInfo& info) { return Napi::Array::New(info.Env()); }
Napi::Value NoReducer(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), false); }
}  // namespace

void InitC10d(Napi::Env env, Napi::Object exports) {
  for (const char* name : {"c10dInit", "c10dAllReduce", "c10dBroadcast", "c10dAllGather", "c10dBarrier", "c10dDestroy", "c10dReducerCreate", "c10dReducerPrepare"}) {
    exports.Set(name, Napi::Function::New(env, Unavailable, name));
  }
  exports.Set("c10dBackends", Napi::Function::New(env, NoBackends, "c10dBackends"));
  exports.Set("c10dHasReducer", Napi::Function::New(env, NoReducer, "c10dHasReducer"));
}
#else
namespace {

std::vector<at::Tensor> TensorList(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw Napi::TypeError::New(value.Env(), std::string(what) + ": an array of tensors expected");
  auto array = value.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < array.Length(); i++) out.push_back(TensorHandle::FromValue(array.Get(i), what));
  return out;
}

c10d::ReduceOp ReduceOpOf(const Napi::Env& env, const std::string& name) {
  if (name == "sum") return c10d::ReduceOp(c10d::ReduceOp::SUM);
  if (name == "max") return c10d::ReduceOp(c10d::ReduceOp::MAX);
  if (name == "min") return c10d::ReduceOp(c10d::ReduceOp::MIN);
  if (name == "product") return c10d::ReduceOp(c10d::ReduceOp::PRODUCT);
  throw Napi::RangeError::New(env, "allReduce: op must be sum, max, min or product, not '" + name + "'");
}

// c10dInit(backend, rank, worldSize, masterAddr, masterPort, timeoutMs)
Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string backend = info[0].As<Napi::String>().Utf8Value();
  const int rank = info[1].As<Napi::Number>().Int32Value();
  const int size = info[2].As<Napi::Number>().Int32Value();
  const std::string addr = info[3].As<Napi::String>().Utf8Value();
  const int port = info[4].As<Napi::Number>().Int32Value();
  const auto timeout = std::chrono::milliseconds(info[5].As<Napi::Number>().Int64Value());
  const std::string where = "c10d init of rank " + std::to_string(rank) + " of " + std::to_string(size) + " (" + backend + ", store " + addr + ":" +
                            std::to_string(port) + ")";
  return Guarded(env, where, [&]() -> Napi::Value {
    auto group = std::make_unique<Group>();
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(port);
    options.isServer = rank == 0;
    options.numWorkers = static_cast<std::size_t>(size);
    options.waitWorkers = false;
    options.timeout = timeout;
    group->store = c10::make_intrusive<c10d::TCPStore>(addr, options);
    group->rank = rank;
    group->size = size;
    group->backend = backend;
    group->timeout = timeout;
    if (backend == "gloo") {
#ifdef USE_C10D_GLOO
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      // Loopback for one machine; otherwise the interface GLOO_SOCKET_IFNAME names (as in
      // PyTorch), or the address this machine's hostname resolves to.
      const bool local = addr == "127.0.0.1" || addr == "localhost";
      const char* iface = std::getenv("GLOO_SOCKET_IFNAME");
      opts->devices.push_back(local                       ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                              : iface != nullptr && *iface ? c10d::ProcessGroupGloo::createDeviceForInterface(iface)
                                                           : c10d::ProcessGroupGloo::createDefaultDevice());
      opts->threads = 2;
      group->gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, rank, size, opts);
#else
      throw std::runtime_error("this build of the addon has no Gloo (built without gloo headers)");
#endif
    } else if (backend == "nccl") {
#ifdef USE_C10D_NCCL
      auto opts = c10d::ProcessGroupNCCL::Options::create();
      opts->timeout = timeout;
      group->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(group->store, rank, size, opts);
#else
      throw std::runtime_error("the libtorch in use has no NCCL (a CUDA build of libtorch with NCCL is needed; use gloo)");
#endif
    } else {
      throw std::runtime_error("unknown backend '" + backend + "' (gloo or nccl)");
    }
    Group* raw = group.release();
    return Napi::External<Group>::New(env, raw, [](Napi::Env, Group* g) { delete g; });
  });
}

Napi::Value AllReduce(const Napi::CallbackInfo& info) {
  Group* g = GroupOf(info[0], "allReduce");
  auto tensors = TensorList(info[1], "allReduce");
  const auto op = ReduceOpOf(info.Env(), info[2].As<Napi::String>().Utf8Value());
  return Guarded(info.Env(), Where(*g, "all_reduce"), [&]() -> Napi::Value {
    c10d::AllreduceOptions opts;
    opts.reduceOp = op;
    opts.timeout = g->timeout;
    Finish(g->Run([&](auto& pg) { return pg->allreduce(tensors, opts); }), *g);
    return info.Env().Undefined();
  });
}

Napi::Value Broadcast(const Napi::CallbackInfo& info) {
  Group* g = GroupOf(info[0], "broadcast");
  auto tensors = TensorList(info[1], "broadcast");
  const int root = info[2].As<Napi::Number>().Int32Value();
  return Guarded(info.Env(), Where(*g, "broadcast"), [&]() -> Napi::Value {
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    opts.timeout = g->timeout;
    Finish(g->Run([&](auto& pg) { return pg->broadcast(tensors, opts); }), *g);
    return info.Env().Undefined();
  });
}

// allGather(group, tensor) -> one tensor per rank, in rank order
Napi::Value AllGather(const Napi::CallbackInfo& info) {
  Group* g = GroupOf(info[0], "allGather");
  at::Tensor input = TensorHandle::FromValue(info[1], "allGather").contiguous();
  return Guarded(info.Env(), Where(*g, "all_gather"), [&]() -> Napi::Value {
    const std::vector<at::Tensor> outputs = GatherFromRanks(*g, input);
    auto result = Napi::Array::New(info.Env(), outputs.size());
    for (size_t r = 0; r < outputs.size(); r++) result.Set(static_cast<uint32_t>(r), TensorHandle::Wrap(info.Env(), outputs[r]));
    return result;
  });
}

Napi::Value Barrier(const Napi::CallbackInfo& info) {
  Group* g = GroupOf(info[0], "barrier");
  return Guarded(info.Env(), Where(*g, "barrier"), [&]() -> Napi::Value {
    c10d::BarrierOptions opts;
    opts.timeout = g->timeout;
    Finish(g->Run([&](auto& pg) { return pg->barrier(opts); }), *g);
    return info.Env().Undefined();
  });
}

Napi::Value Destroy(const Napi::CallbackInfo& info) {
  if (info[0].IsExternal()) {
    Group* g = info[0].As<Napi::External<Group>>().Data();
    g->reset();
  }
  return info.Env().Undefined();
}

Napi::Value HasReducer(const Napi::CallbackInfo& info) {
#ifdef MDPROP_C10D_REDUCER
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  auto list = Napi::Array::New(info.Env());
  uint32_t n = 0;
#ifdef USE_C10D_GLOO
  list.Set(n++, Napi::String::New(info.Env(), "gloo"));
#endif
#ifdef USE_C10D_NCCL
  list.Set(n++, Napi::String::New(info.Env(), "nccl"));
#endif
  (void)n;
  return list;
}

#ifdef MDPROP_C10D_REDUCER
// DDP's reducer over a group: autograd hooks on the parameters' gradient accumulators all-reduce
// each bucket as soon as all its gradients are ready, overlapping the rest of the backward pass;
// the backward pass returns with every gradient averaged over the ranks.
struct ReducerBox {
  std::shared_ptr<c10d::Reducer> reducer;
};

/**
 * The reducer looks for parameters the loss did not use (a method's branch may leave some out) and
 * warns once when there were none, a performance hint meant for PyTorch users; this drops that
 * one warning and passes every other on to the handler it replaces.
 */
class QuietUnusedParameterHint : public c10::WarningHandler {
 public:
  explicit QuietUnusedParameterHint(c10::WarningHandler* next) : next_(next) {}
  void process(const c10::SourceLocation& source_location, const std::string& msg, const bool verbatim) override {
    if (msg.find("find_unused_parameters=True was specified") != std::string::npos) return;
    next_->process(source_location, msg, verbatim);
  }

 private:
  c10::WarningHandler* next_;
};

// c10dReducerCreate(group, params, bucketBytes) -> { handle, buckets }
Napi::Value ReducerCreate(const Napi::CallbackInfo& info) {
  Group* g = GroupOf(info[0], "reducer");
  auto params = TensorList(info[1], "reducer");
  const int64_t bucketBytes = info[2].As<Napi::Number>().Int64Value();
  return Guarded(info.Env(), Where(*g, "reducer setup"), [&]() -> Napi::Value {
    // Buckets in reverse order of the parameters: roughly the order their gradients arrive.
    std::vector<int64_t> order(params.size());
    for (size_t i = 0; i < params.size(); i++) order[i] = static_cast<int64_t>(params.size() - 1 - i);
    std::vector<at::Tensor> reversed;
    for (auto i : order) reversed.push_back(params[static_cast<size_t>(i)]);
    auto assignment = c10d::compute_bucket_assignment_by_size(reversed, {static_cast<size_t>(bucketBytes)}, std::vector<bool>(params.size(), false), order);
    static QuietUnusedParameterHint quiet(c10::Warning::get_warning_handler());
    if (c10::Warning::get_warning_handler() != &quiet) c10::Warning::set_warning_handler(&quiet);
    auto box = std::make_unique<ReducerBox>();
    c10::intrusive_ptr<c10d::ProcessGroup> pg;
#ifdef USE_C10D_GLOO
    if (g->gloo) pg = g->gloo;
#endif
#ifdef USE_C10D_NCCL
    if (g->nccl) pg = g->nccl;
#endif
    box->reducer = std::make_shared<c10d::Reducer>(params, std::get<0>(assignment), std::get<1>(assignment), pg, std::vector<bool>(params.size(), false),
                                                   bucketBytes, /*find_unused_parameters=*/true, /*gradient_as_bucket_view=*/false,
                                                   std::unordered_map<size_t, std::string>{}, bucketBytes);
    const size_t buckets = std::get<0>(assignment).size();
    auto result = Napi::Object::New(info.Env());
    result.Set("handle", Napi::External<ReducerBox>::New(info.Env(), box.release(), [](Napi::Env, ReducerBox* b) { delete b; }));
    result.Set("buckets", Napi::Number::New(info.Env(), static_cast<double>(buckets)));
    return result;
  });
}

// c10dReducerPrepare(reducer, outputs): arms the hooks for the next backward pass from `outputs`.
Napi::Value ReducerPrepare(const Napi::CallbackInfo& info) {
  if (!info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), "reducerPrepare: a reducer handle expected");
  ReducerBox* box = info[0].As<Napi::External<ReducerBox>>().Data();
  auto outputs = TensorList(info[1], "reducerPrepare");
  return Guarded(info.Env(), "reducer prepare_for_backward", [&]() -> Napi::Value {
    box->reducer->prepare_for_forward();
    box->reducer->prepare_for_backward(outputs);
    return info.Env().Undefined();
  });
}

#else
Napi::Value ReducerCreate(const Napi::CallbackInfo& info) {
  throw Napi::Error::New(info.Env(), std::string("c10d's reducer is not in this build (libtorch ") + TORCH_VERSION + "); reduce gradients after the backward pass");
}
Napi::Value ReducerPrepare(const Napi::CallbackInfo& info) { return ReducerCreate(info); }
#endif

}  // namespace

void InitC10d(Napi::Env env, Napi::Object exports) {
  exports.Set("c10dInit", Napi::Function::New(env, Init, "c10dInit"));
  exports.Set("c10dAllReduce", Napi::Function::New(env, AllReduce, "c10dAllReduce"));
  exports.Set("c10dBroadcast", Napi::Function::New(env, Broadcast, "c10dBroadcast"));
  exports.Set("c10dAllGather", Napi::Function::New(env, AllGather, "c10dAllGather"));
  exports.Set("c10dBarrier", Napi::Function::New(env, Barrier, "c10dBarrier"));
  exports.Set("c10dDestroy", Napi::Function::New(env, Destroy, "c10dDestroy"));
  exports.Set("c10dBackends", Napi::Function::New(env, Backends, "c10dBackends"));
  exports.Set("c10dHasReducer", Napi::Function::New(env, HasReducer, "c10dHasReducer"));
  exports.Set("c10dReducerCreate", Napi::Function::New(env, ReducerCreate, "c10dReducerCreate"));
  exports.Set("c10dReducerPrepare", Napi::Function::New(env, ReducerPrepare, "c10dReducerPrepare"));
}

#endif  // MDPROP_NO_C10D

}  // namespace mdprop
