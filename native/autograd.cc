// Autograd entry points: leaf flags, backward, .grad, gradients w.r.t. chosen inputs (PGD needs
// d loss / d image without touching parameter gradients), and the thread-local grad mode.
#include "common.h"
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace mdprop {
namespace {

std::vector<at::Tensor> TensorList(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string(what) + ": array of tensors expected");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<at::Tensor> out;
  for (uint32_t i = 0; i < arr.Length(); ++i) out.push_back(TensorHandle::FromValue(arr.Get(i), what));
  return out;
}

Napi::Value RequiresGrad(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), TensorHandle::FromValue(info[0], "requiresGrad").requires_grad());
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorHandle::FromValue(info[0], "setRequiresGrad");
  const bool flag = info[1].ToBoolean().Value();
  return Guarded(info.Env(), "setRequiresGrad" + ShapeString(t), [&]() -> Napi::Value {
    t.set_requires_grad(flag);
    return info.Env().Undefined();
  });
}

Napi::Value IsLeaf(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), TensorHandle::FromValue(info[0], "isLeaf").is_leaf());
}

// The tensor's version counter: every in-place change (an optimizer step, copy_) raises it, so a
// value derived from the tensor (a cast copy of a weight) is known stale when it moved.
Napi::Value Version(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(TensorHandle::FromValue(info[0], "version")._version()));
}

Napi::Value Grad(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorHandle::FromValue(info[0], "grad");
  const at::Tensor& g = t.grad();
  if (!g.defined()) return info.Env().Null();
  return TensorHandle::Wrap(info.Env(), g);
}

// setGrad(t, g | null): replace or clear the accumulated gradient (optimizers' zero_grad).
Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorHandle::FromValue(info[0], "setGrad");
  return Guarded(info.Env(), "setGrad" + ShapeString(t), [&]() -> Napi::Value {
    if (info[1].IsNull() || info[1].IsUndefined()) {
      t.mutable_grad() = at::Tensor();
    } else {
      t.mutable_grad() = TensorHandle::FromValue(info[1], "setGrad");
    }
    return info.Env().Undefined();
  });
}

// backward(t, grad | null, retainGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorHandle::FromValue(info[0], "backward");
  return Guarded(info.Env(), "backward" + ShapeString(t), [&]() -> Napi::Value {
    at::Tensor grad;
    if (info.Length() > 1 && !info[1].IsNull() && !info[1].IsUndefined()) grad = TensorHandle::FromValue(info[1], "backward");
    const bool retain = info.Length() > 2 && info[2].ToBoolean().Value();
    t.backward(grad, retain, false);
    return info.Env().Undefined();
  });
}

// grad(outputs[], inputs[], gradOutputs[] | null, retainGraph, createGraph, allowUnused) -> (tensor | null)[]
Napi::Value AutogradGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<at::Tensor> outputs = TensorList(info[0], "autogradGrad outputs");
  std::vector<at::Tensor> inputs = TensorList(info[1], "autogradGrad inputs");
  std::vector<at::Tensor> grad_outputs;
  if (info.Length() > 2 && info[2].IsArray()) grad_outputs = TensorList(info[2], "autogradGrad gradOutputs");
  const bool retain = info.Length() > 3 && info[3].ToBoolean().Value();
  const bool create = info.Length() > 4 && info[4].ToBoolean().Value();
  const bool allow_unused = info.Length() > 5 && info[5].ToBoolean().Value();
  return Guarded(env, "autogradGrad", [&]() -> Napi::Value {
    auto grads = torch::autograd::grad(outputs, inputs, grad_outputs, retain, create, allow_unused);
    Napi::Array out = Napi::Array::New(env, grads.size());
    for (size_t i = 0; i < grads.size(); ++i) {
      out.Set(static_cast<uint32_t>(i), grads[i].defined() ? Napi::Value(TensorHandle::Wrap(env, grads[i])) : env.Null());
    }
    return out;
  });
}

Napi::Value IsGradEnabled(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::GradMode::is_enabled());
}

Napi::Value SetGradEnabled(const Napi::CallbackInfo& info) {
  at::GradMode::set_enabled(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

}  // namespace

void InitAutograd(Napi::Env env, Napi::Object exports) {
  exports.Set("requiresGrad", Napi::Function::New(env, RequiresGrad, "requiresGrad"));
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad, "setRequiresGrad"));
  exports.Set("isLeaf", Napi::Function::New(env, IsLeaf, "isLeaf"));
  exports.Set("version", Napi::Function::New(env, Version, "version"));
  exports.Set("grad", Napi::Function::New(env, Grad, "grad"));
  exports.Set("setGrad", Napi::Function::New(env, SetGrad, "setGrad"));
  exports.Set("backward", Napi::Function::New(env, Backward, "backward"));
  exports.Set("autogradGrad", Napi::Function::New(env, AutogradGrad, "autogradGrad"));
  exports.Set("isGradEnabled", Napi::Function::New(env, IsGradEnabled, "isGradEnabled"));
  exports.Set("setGradEnabled", Napi::Function::New(env, SetGradEnabled, "setGradEnabled"));
}

}  // namespace mdprop
