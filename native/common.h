// Shared declarations of the native addon: a JS object owns one at::Tensor; everything else is a
// free function over such handles. The addon holds no logic beyond conversion and error mapping.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <string>
#include <vector>

namespace mdprop {

class TensorHandle : public Napi::ObjectWrap<TensorHandle> {
 public:
  static Napi::FunctionReference* constructor;
  static void Init(Napi::Env env, Napi::Object exports);
  static Napi::Object Wrap(Napi::Env env, at::Tensor tensor);
  static bool IsHandle(const Napi::Value& value);
  /** The tensor behind a JS value; throws a JS TypeError naming `what` when it is not a live handle. */
  static at::Tensor& FromValue(const Napi::Value& value, const char* what);

  explicit TensorHandle(const Napi::CallbackInfo& info);
  ~TensorHandle() override;

  void Release();
  bool disposed() const { return !tensor_.defined() && released_; }
  at::Tensor tensor_;
  static int64_t live_count;

 private:
  int64_t accounted_bytes_ = 0;
  bool released_ = false;
  Napi::Env env_;
};

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

}  // namespace mdprop
