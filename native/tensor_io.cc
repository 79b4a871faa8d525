// Crossing the boundary: typed arrays in and out (always copies, so JS and libtorch never share
// memory that either side could free), a tensor's bytes written to a file, and tensor metadata.
#include "common.h"
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unistd.h>

namespace mdprop {
namespace {

at::ScalarType ScalarTypeFromCode(Napi::Env env, const Napi::Value& v) {
  if (!v.IsNumber()) throw Napi::TypeError::New(env, "dtype code expected");
  const int code = v.As<Napi::Number>().Int32Value();
  if (code < 0 || code >= static_cast<int>(at::ScalarType::NumOptions)) throw Napi::RangeError::New(env, "bad dtype code");
  return static_cast<at::ScalarType>(code);
}

std::vector<int64_t> ShapeFrom(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "shape must be an array of integers");
  Napi::Array arr = v.As<Napi::Array>();
  std::vector<int64_t> shape(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    if (!e.IsNumber()) throw Napi::TypeError::New(env, "shape must be an array of integers");
    const double d = e.As<Napi::Number>().DoubleValue();
    if (d < 0 || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::RangeError::New(env, "shape entries must be non-negative integers");
    }
    shape[i] = static_cast<int64_t>(d);
  }
  return shape;
}

// fromBuffer(typedArray, shape, dtypeCode, device?) -> handle; the bytes are copied.
Napi::Value FromBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsTypedArray()) throw Napi::TypeError::New(env, "fromBuffer(typedArray, shape, dtype)");
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  const std::vector<int64_t> shape = ShapeFrom(env, info[1]);
  const at::ScalarType dtype = ScalarTypeFromCode(env, info[2]);
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  const size_t itemsize = c10::elementSize(dtype);
  if (static_cast<size_t>(numel) * itemsize != array.ByteLength()) {
    throw Napi::RangeError::New(env, "fromBuffer: " + std::to_string(array.ByteLength()) + " bytes do not fill shape of " +
                                         std::to_string(numel) + " elements of " + std::to_string(itemsize) + " bytes");
  }
  return Guarded(env, "fromBuffer", [&]() -> Napi::Value {
    uint8_t* data = static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset();
    at::Tensor t = at::empty(shape, at::TensorOptions().dtype(dtype));
    if (numel > 0) std::memcpy(t.data_ptr(), data, array.ByteLength());
    if (info.Length() > 3 && info[3].IsString()) {
      const std::string device = info[3].As<Napi::String>().Utf8Value();
      if (device != "cpu") t = t.to(c10::Device(device));
    }
    return TensorHandle::Wrap(env, std::move(t));
  });
}

// toBuffer(handle) -> ArrayBuffer holding the contiguous CPU bytes.
Napi::Value ToBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = TensorHandle::FromValue(info[0], "toBuffer");
  return Guarded(env, "toBuffer", [&]() -> Napi::Value {
    at::Tensor c = t.detach().to(at::kCPU).contiguous();
    const size_t n = c.numel() * c.element_size();
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, n);
    if (n) std::memcpy(buffer.Data(), c.data_ptr(), n);
    return buffer;
  });
}

// writeTensorBytes(handle, fd): the tensor's bytes (CPU, row-major) written to an open file
// descriptor at its current position, without passing through a JS buffer.
Napi::Value WriteTensorBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor& t = TensorHandle::FromValue(info[0], "writeTensorBytes");
  if (info.Length() < 2 || !info[1].IsNumber()) throw Napi::TypeError::New(env, "writeTensorBytes(handle, fd)");
  const int fd = info[1].As<Napi::Number>().Int32Value();
  return Guarded(env, "writeTensorBytes", [&]() -> Napi::Value {
    const at::Tensor c = t.detach().to(at::kCPU).contiguous();
    const char* at = static_cast<const char*>(c.data_ptr());
    size_t left = c.numel() * c.element_size();
    while (left > 0) {
      const ssize_t n = ::write(fd, at, std::min(left, static_cast<size_t>(1) << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw std::runtime_error(std::string("write failed: ") + std::strerror(errno));
      at += n;
      left -= static_cast<size_t>(n);
    }
    return env.Undefined();
  });
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorHandle::FromValue(info[0], "shape");
  Napi::Array arr = Napi::Array::New(info.Env(), t.dim());
  for (int64_t i = 0; i < t.dim(); ++i) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(info.Env(), t.size(i)));
  return arr;
}

Napi::Value Dtype(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorHandle::FromValue(info[0], "dtype");
  return Napi::Number::New(info.Env(), static_cast<int>(t.scalar_type()));
}

Napi::Value DeviceOf(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorHandle::FromValue(info[0], "device");
  return Napi::String::New(info.Env(), t.device().str());
}

// isContiguous(h, format): format 0 = row-major, 2 = channels-last (memoryFormatCode in tensor.ts).
Napi::Value IsContiguous(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorHandle::FromValue(info[0], "isContiguous");
  const int code = info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  const auto format = code == 2 ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  if (format == at::MemoryFormat::ChannelsLast && t.dim() != 4) return Napi::Boolean::New(info.Env(), false);
  return Napi::Boolean::New(info.Env(), t.is_contiguous(format));
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  at::Tensor& t = TensorHandle::FromValue(info[0], "item");
  return Guarded(info.Env(), "item(" + ShapeString(t) + ")", [&]() -> Napi::Value {
    if (t.numel() != 1) throw std::runtime_error("a tensor with " + std::to_string(t.numel()) + " elements has no single item");
    const at::Scalar s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(info.Env(), s.toBool());
    return Napi::Number::New(info.Env(), s.toDouble());
  });
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  TensorHandle::Release(info[0]);
  return info.Env().Undefined();
}

Napi::Value SetMemoryAccounting(const Napi::CallbackInfo& info) {
  TensorHandle::SetAccounting(info[0].ToBoolean().Value());
  return info.Env().Undefined();
}

// The bytes this process has reported to V8 as external memory (all addons together).
Napi::Value ReportedMemory(const Napi::CallbackInfo& info) {
  int64_t total = 0;
  napi_adjust_external_memory(info.Env(), 0, &total);
  return Napi::Number::New(info.Env(), static_cast<double>(total));
}

Napi::Value AccountMemory(const Napi::CallbackInfo& info) {
  TensorHandle::Account(info[0]);
  return info.Env().Undefined();
}

Napi::Value IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), TensorHandle::IsDisposed(info[0]));
}

// sameTensor(a, b): do both handles refer to one TensorImpl (in-place ops return their input)?
Napi::Value SameTensor(const Napi::CallbackInfo& info) {
  at::Tensor& a = TensorHandle::FromValue(info[0], "sameTensor");
  at::Tensor& b = TensorHandle::FromValue(info[1], "sameTensor");
  return Napi::Boolean::New(info.Env(), a.unsafeGetTensorImpl() == b.unsafeGetTensorImpl());
}

}  // namespace

void InitTensorIO(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBuffer", Napi::Function::New(env, FromBuffer, "fromBuffer"));
  exports.Set("toBuffer", Napi::Function::New(env, ToBuffer, "toBuffer"));
  exports.Set("writeTensorBytes", Napi::Function::New(env, WriteTensorBytes, "writeTensorBytes"));
  exports.Set("shape", Napi::Function::New(env, Shape, "shape"));
  exports.Set("dtype", Napi::Function::New(env, Dtype, "dtype"));
  exports.Set("device", Napi::Function::New(env, DeviceOf, "device"));
  exports.Set("item", Napi::Function::New(env, Item, "item"));
  exports.Set("isContiguous", Napi::Function::New(env, IsContiguous, "isContiguous"));
  exports.Set("dispose", Napi::Function::New(env, Dispose, "dispose"));
  exports.Set("isDisposed", Napi::Function::New(env, IsDisposed, "isDisposed"));
  exports.Set("setMemoryAccounting", Napi::Function::New(env, SetMemoryAccounting, "setMemoryAccounting"));
  exports.Set("accountMemory", Napi::Function::New(env, AccountMemory, "accountMemory"));
  exports.Set("reportedMemory", Napi::Function::New(env, ReportedMemory, "reportedMemory"));
  exports.Set("sameTensor", Napi::Function::New(env, SameTensor, "sameTensor"));
}

}  // namespace mdprop
