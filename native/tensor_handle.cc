// The JS-side owner of one tensor. dispose() frees it at once; the GC finalizer is the last resort.
// Native bytes are reported to V8 so that garbage collection sees the real memory pressure.
#include "common.h"
#include <sstream>

namespace mdprop {

Napi::FunctionReference* TensorHandle::constructor = nullptr;
int64_t TensorHandle::live_count = 0;

std::string ShapeString(const at::Tensor& t) {
  if (!t.defined()) return "[undefined]";
  std::ostringstream out;
  out << "[";
  for (int64_t i = 0; i < t.dim(); ++i) out << (i ? ", " : "") << t.size(i);
  out << "]";
  return out.str();
}

void TensorHandle::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "TensorHandle", {});
  constructor = new Napi::FunctionReference(Napi::Persistent(ctor));
  exports.Set("TensorHandle", ctor);
}

TensorHandle::TensorHandle(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<TensorHandle>(info), env_(info.Env()) {
  ++live_count;
}

TensorHandle::~TensorHandle() { Release(); }

void TensorHandle::Release() {
  if (released_) return;
  released_ = true;
  tensor_ = at::Tensor();
  --live_count;
  if (accounted_bytes_ != 0) {
    Napi::MemoryManagement::AdjustExternalMemory(env_, -accounted_bytes_);
    accounted_bytes_ = 0;
  }
}

Napi::Object TensorHandle::Wrap(Napi::Env env, at::Tensor tensor) {
  Napi::Object obj = constructor->New({});
  TensorHandle* h = Napi::ObjectWrap<TensorHandle>::Unwrap(obj);
  // Only CPU memory counts as V8 external memory; device memory is not the JS heap's concern.
  if (tensor.defined() && tensor.device().is_cpu() && !tensor.is_mkldnn()) {
    h->accounted_bytes_ = static_cast<int64_t>(tensor.numel()) * static_cast<int64_t>(tensor.element_size());
    if (h->accounted_bytes_) Napi::MemoryManagement::AdjustExternalMemory(env, h->accounted_bytes_);
  }
  h->tensor_ = std::move(tensor);
  return obj;
}

bool TensorHandle::IsHandle(const Napi::Value& value) {
  return value.IsObject() && value.As<Napi::Object>().InstanceOf(constructor->Value());
}

at::Tensor& TensorHandle::FromValue(const Napi::Value& value, const char* what) {
  if (!IsHandle(value)) {
    throw Napi::TypeError::New(value.Env(), std::string(what) + ": expected a tensor");
  }
  TensorHandle* h = Napi::ObjectWrap<TensorHandle>::Unwrap(value.As<Napi::Object>());
  if (h->released_) {
    throw Napi::Error::New(value.Env(), std::string(what) + ": the tensor was already disposed");
  }
  return h->tensor_;
}

}  // namespace mdprop
