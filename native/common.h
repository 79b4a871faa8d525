// Shared declarations of the native addon: a JS object owns one at::Tensor; everything else is a
// free function over such handles. The addon holds no logic beyond conversion and error mapping.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <string>
#include <vector>

namespace mdprop {

/**
 * Tensor handles: plain JS objects tagged as ours and wrapping a heap box that holds one
 * at::Tensor. dispose() removes the wrap and frees the box at once, so disposed handles leave no
 * finalizer behind (Node defers finalizers to the event loop: a long synchronous loop would
 * otherwise pile them up and fragment the native heap). The GC finalizer remains the last resort
 * for handles nobody disposed.
 */
namespace TensorHandle {
/** A new handle owning `tensor`. */
Napi::Object Wrap(Napi::Env env, at::Tensor tensor);
/** Is this value one of our handles (live or disposed)? */
bool IsHandle(const Napi::Value& value);
/** Is this handle disposed (or not a handle at all)? */
bool IsDisposed(const Napi::Value& value);
/** The tensor behind a JS value; throws a JS TypeError naming `what` when it is not a live handle. */
at::Tensor& FromValue(const Napi::Value& value, const char* what);
/** Free the tensor now; a second call is harmless. */
void Release(const Napi::Value& value);
/** Handles whose tensor is still alive. */
int64_t LiveCount();
/**
 * Whether new handles report their bytes to V8 at once. Off inside tidy scopes, which free their
 * tensors themselves; a tensor that leaves the outermost scope is reported then (Account).
 */
void SetAccounting(bool on);
/** Report a handle's bytes to V8 if they were not reported when it was made. */
void Account(const Napi::Value& value);
}  // namespace TensorHandle

/** "[2, 3]" */
std::string ShapeString(const at::Tensor& t);

/** Run `body`, turning C++ exceptions (c10::Error and std::exception) into a JS Error with `context`. */
template <typename F>
Napi::Value Guarded(Napi::Env env, const std::string& context, F&& body) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const c10::Error& e) {
    std::string msg = e.what_without_backtrace();
    throw Napi::Error::New(env, context + ": " + msg);
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, context + ": " + e.what());
  }
}

void InitOps(Napi::Env env, Napi::Object exports);
void InitTensorIO(Napi::Env env, Napi::Object exports);
void InitAutograd(Napi::Env env, Napi::Object exports);
void InitRuntime(Napi::Env env, Napi::Object exports);
void InitTorchZip(Napi::Env env, Napi::Object exports);
void InitC10d(Napi::Env env, Napi::Object exports);
void InitSyncBatchNorm(Napi::Env env, Napi::Object exports);
void InitCpuAllocator(Napi::Env env, Napi::Object exports);
void InitProfiler(Napi::Env env, Napi::Object exports);

}  // namespace mdprop
