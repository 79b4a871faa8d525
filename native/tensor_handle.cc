// Tensor handles (see common.h): a tagged JS object wrapping a box with the tensor. Native bytes
// are reported to V8 so that garbage collection sees the real memory pressure.
#include "common.h"
#include <sstream>

namespace mdprop {
namespace {

struct TensorBox {
  at::Tensor tensor;
  int64_t accounted_bytes = 0;  // reported to V8
  int64_t bytes = 0;            // what it would report
};

// Marks objects made by this addon, so a foreign object is never mistaken for a handle.
constexpr napi_type_tag kHandleTag = {0x6d6470726f702d74ULL, 0x656e736f722d6831ULL};
int64_t g_live = 0;
bool g_accounting = true;

void FreeBox(napi_env env, TensorBox* box) {
  if (box->accounted_bytes != 0) {
    int64_t adjusted = 0;
    napi_adjust_external_memory(env, -box->accounted_bytes, &adjusted);
  }
  --g_live;
  delete box;
}

void FinalizeBox(napi_env env, void* data, void* /*hint*/) { FreeBox(env, static_cast<TensorBox*>(data)); }

bool IsTagged(const Napi::Value& value) {
  if (!value.IsObject()) return false;
  bool tagged = false;
  napi_check_object_type_tag(value.Env(), value, &kHandleTag, &tagged);
  return tagged;
}

TensorBox* BoxOf(const Napi::Value& value) {
  void* data = nullptr;
  if (napi_unwrap(value.Env(), value, &data) != napi_ok) return nullptr;
  return static_cast<TensorBox*>(data);
}

}  // namespace

std::string ShapeString(const at::Tensor& t) {
  if (!t.defined()) return "[undefined]";
  std::ostringstream out;
  out << "[";
  for (int64_t i = 0; i < t.dim(); ++i) out << (i ? ", " : "") << t.size(i);
  out << "]";
  return out.str();
}

namespace TensorHandle {

Napi::Object Wrap(Napi::Env env, at::Tensor tensor) {
  Napi::Object obj = Napi::Object::New(env);
  NAPI_THROW_IF_FAILED(env, napi_type_tag_object(env, obj, &kHandleTag), obj);
  auto* box = new TensorBox{std::move(tensor), 0, 0};
  // Only CPU memory counts as V8 external memory; device memory is not the JS heap's concern.
  const at::Tensor& t = box->tensor;
  if (t.defined() && t.device().is_cpu() && !t.is_mkldnn()) {
    box->bytes = static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
    if (g_accounting) box->accounted_bytes = box->bytes;
  }
  if (napi_wrap(env, obj, box, FinalizeBox, nullptr, nullptr) != napi_ok) {
    delete box;
    throw Napi::Error::New(env, "could not wrap a tensor handle");
  }
  ++g_live;
  if (box->accounted_bytes) Napi::MemoryManagement::AdjustExternalMemory(env, box->accounted_bytes);
  return obj;
}

bool IsHandle(const Napi::Value& value) { return IsTagged(value); }

bool IsDisposed(const Napi::Value& value) { return !IsTagged(value) || BoxOf(value) == nullptr; }

at::Tensor& FromValue(const Napi::Value& value, const char* what) {
  if (!IsTagged(value)) throw Napi::TypeError::New(value.Env(), std::string(what) + ": expected a tensor");
  TensorBox* box = BoxOf(value);
  if (box == nullptr) throw Napi::Error::New(value.Env(), std::string(what) + ": the tensor was already disposed");
  return box->tensor;
}

void Release(const Napi::Value& value) {
  if (!IsTagged(value)) return;
  void* data = nullptr;
  // Removing the wrap also cancels its finalizer: nothing is left pending for the GC.
  if (napi_remove_wrap(value.Env(), value, &data) == napi_ok && data != nullptr) {
    FreeBox(value.Env(), static_cast<TensorBox*>(data));
  }
}

int64_t LiveCount() { return g_live; }

void SetAccounting(bool on) { g_accounting = on; }

void Account(const Napi::Value& value) {
  if (!IsTagged(value)) return;
  TensorBox* box = BoxOf(value);
  if (box == nullptr || box->accounted_bytes != 0 || box->bytes == 0) return;
  box->accounted_bytes = box->bytes;
  Napi::MemoryManagement::AdjustExternalMemory(value.Env(), box->bytes);
}

}  // namespace TensorHandle
}  // namespace mdprop
