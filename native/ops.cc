// Generic op call through libtorch's boxed dispatcher: one converter between JS values and IValues,
// driven by each operator's schema, serves every aten op (autograd included, since the boxed call
// goes through the same dispatch keys as a typed one).
#include "common.h"
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/stack.h>
#include <cmath>
#include <sstream>

namespace mdprop {
namespace {

std::vector<c10::OperatorHandle> g_ops;

[[noreturn]] void ArgError(Napi::Env env, const c10::FunctionSchema& schema, const c10::Argument& arg,
                           const std::string& expected) {
  throw Napi::TypeError::New(env, schema.name() + ": argument '" + arg.name() + "' must be " + expected);
}

int64_t ToInt(Napi::Env env, const Napi::Value& v, const c10::FunctionSchema& schema, const c10::Argument& arg) {
  if (v.IsBigInt()) {
    bool lossless = true;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (v.IsBoolean()) return v.As<Napi::Boolean>().Value() ? 1 : 0;
  if (!v.IsNumber()) ArgError(env, schema, arg, "an integer");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || std::floor(d) != d) ArgError(env, schema, arg, "an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

double ToDouble(Napi::Env env, const Napi::Value& v, const c10::FunctionSchema& schema, const c10::Argument& arg) {
  if (!v.IsNumber()) ArgError(env, schema, arg, "a number");
  return v.As<Napi::Number>().DoubleValue();
}

c10::IValue ToScalar(Napi::Env env, const Napi::Value& v, const c10::FunctionSchema& schema, const c10::Argument& arg) {
  if (v.IsBoolean()) return c10::IValue(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) {
    bool lossless = true;
    return c10::IValue(v.As<Napi::BigInt>().Int64Value(&lossless));
  }
  if (!v.IsNumber()) ArgError(env, schema, arg, "a number");
  double d = v.As<Napi::Number>().DoubleValue();
  // Integral JS numbers become integer scalars, as Python ints do, so integer tensors stay integer.
  if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9007199254740992.0) {
    return c10::IValue(static_cast<int64_t>(d));
  }
  return c10::IValue(d);
}

c10::IValue ToIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const c10::FunctionSchema& schema,
                     const c10::Argument& arg);

c10::IValue ToList(Napi::Env env, const Napi::Value& v, const c10::ListTypePtr& list_type,
                   const c10::FunctionSchema& schema, const c10::Argument& arg) {
  const c10::TypePtr& elem = list_type->getElementType();
  const auto kind = elem->kind();
  // A single number for a fixed-size list (kernel_size=3 for int[2]) is repeated, as in PyTorch.
  if (!v.IsArray()) {
    if ((kind == c10::TypeKind::IntType || kind == c10::TypeKind::SymIntType) && (v.IsNumber() || v.IsBigInt())) {
      int64_t n = arg.N() ? *arg.N() : 1;
      return c10::IValue(std::vector<int64_t>(static_cast<size_t>(n), ToInt(env, v, schema, arg)));
    }
    ArgError(env, schema, arg, "an array");
  }
  Napi::Array arr = v.As<Napi::Array>();
  const uint32_t n = arr.Length();
  switch (kind) {
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType: {
      std::vector<int64_t> out(n);
      for (uint32_t i = 0; i < n; ++i) out[i] = ToInt(env, arr.Get(i), schema, arg);
      return c10::IValue(out);
    }
    case c10::TypeKind::FloatType: {
      std::vector<double> out(n);
      for (uint32_t i = 0; i < n; ++i) out[i] = ToDouble(env, arr.Get(i), schema, arg);
      return c10::IValue(out);
    }
    case c10::TypeKind::BoolType: {
      c10::List<bool> out;
      for (uint32_t i = 0; i < n; ++i) {
        Napi::Value e = arr.Get(i);
        if (!e.IsBoolean()) ArgError(env, schema, arg, "an array of booleans");
        out.push_back(e.As<Napi::Boolean>().Value());
      }
      return c10::IValue(out);
    }
    case c10::TypeKind::TensorType: {
      c10::List<at::Tensor> out;
      for (uint32_t i = 0; i < n; ++i) out.push_back(TensorHandle::FromValue(arr.Get(i), schema.name().c_str()));
      return c10::IValue(out);
    }
    case c10::TypeKind::OptionalType: {
      auto inner = elem->castRaw<c10::OptionalType>()->getElementType();
      if (inner->kind() != c10::TypeKind::TensorType) break;
      c10::List<c10::optional<at::Tensor>> out;
      for (uint32_t i = 0; i < n; ++i) {
        Napi::Value e = arr.Get(i);
        if (e.IsNull() || e.IsUndefined()) {
          out.push_back(c10::nullopt);
        } else {
          out.push_back(TensorHandle::FromValue(e, schema.name().c_str()));
        }
      }
      return c10::IValue(out);
    }
    default:
      break;
  }
  ArgError(env, schema, arg, "of a list type this binding does not support (" + list_type->str() + ")");
}

c10::IValue ToIValue(Napi::Env env, const Napi::Value& v, const c10::TypePtr& type, const c10::FunctionSchema& schema,
                     const c10::Argument& arg) {
  switch (type->kind()) {
    case c10::TypeKind::OptionalType:
      if (v.IsNull() || v.IsUndefined()) return c10::IValue();
      return ToIValue(env, v, type->castRaw<c10::OptionalType>()->getElementType(), schema, arg);
    case c10::TypeKind::TensorType:
      return c10::IValue(TensorHandle::FromValue(v, (schema.name() + " argument '" + arg.name() + "'").c_str()));
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      return c10::IValue(ToInt(env, v, schema, arg));
    case c10::TypeKind::FloatType:
      return c10::IValue(ToDouble(env, v, schema, arg));
    case c10::TypeKind::BoolType:
      if (!v.IsBoolean()) ArgError(env, schema, arg, "a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case c10::TypeKind::NumberType:
      return ToScalar(env, v, schema, arg);
    case c10::TypeKind::StringType:
      if (!v.IsString()) ArgError(env, schema, arg, "a string");
      return c10::IValue(v.As<Napi::String>().Utf8Value());
    case c10::TypeKind::DeviceObjType:
      if (!v.IsString()) ArgError(env, schema, arg, "a device string such as 'cpu' or 'cuda:0'");
      return c10::IValue(c10::Device(v.As<Napi::String>().Utf8Value()));
    case c10::TypeKind::ListType:
      return ToList(env, v, type->cast<c10::ListType>(), schema, arg);
    case c10::TypeKind::GeneratorType:
      ArgError(env, schema, arg, "omitted (generators are global and seeded with manualSeed)");
    default:
      ArgError(env, schema, arg, "of a type this binding does not support (" + type->str() + ")");
  }
}

Napi::Value FromIValue(Napi::Env env, const c10::IValue& v) {
  if (v.isTensor()) {
    const at::Tensor& t = v.toTensor();
    if (!t.defined()) return env.Null();
    return TensorHandle::Wrap(env, t);
  }
  if (v.isNone()) return env.Null();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isScalar()) {
    const at::Scalar s = v.toScalar();
    return Napi::Number::New(env, s.toDouble());
  }
  if (v.isTuple()) {
    const auto& elems = v.toTupleRef().elements();
    Napi::Array arr = Napi::Array::New(env, elems.size());
    for (size_t i = 0; i < elems.size(); ++i) arr.Set(static_cast<uint32_t>(i), FromIValue(env, elems[i]));
    return arr;
  }
  if (v.isList()) {
    const auto list = v.toListRef();
    Napi::Array arr = Napi::Array::New(env, list.size());
    for (size_t i = 0; i < list.size(); ++i) arr.Set(static_cast<uint32_t>(i), FromIValue(env, list[i]));
    return arr;
  }
  throw Napi::Error::New(env, "unsupported return type " + v.tagKind());
}

std::string CallContext(const c10::FunctionSchema& schema, const std::vector<std::pair<size_t, at::Tensor>>& tensors) {
  std::ostringstream out;
  out << schema.name();
  if (!schema.overload_name().empty()) out << "." << schema.overload_name();
  out << "(";
  bool first = true;
  for (const auto& [index, tensor] : tensors) {
    out << (first ? "" : ", ") << schema.arguments()[index].name() << " " << ShapeString(tensor) << " "
        << tensor.dtype().name();
    first = false;
  }
  out << ")";
  return out.str();
}

// opHandle(name, overload) -> id
Napi::Value OpHandle(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsString()) {
    throw Napi::TypeError::New(env, "opHandle(name, overload): two strings expected");
  }
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  const std::string overload = info[1].As<Napi::String>().Utf8Value();
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) throw Napi::Error::New(env, "unknown operator " + name + (overload.empty() ? "" : "." + overload));
  g_ops.push_back(*handle);
  return Napi::Number::New(env, static_cast<double>(g_ops.size() - 1));
}

const c10::OperatorHandle& OpById(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "operator id expected");
  const uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= g_ops.size()) throw Napi::RangeError::New(info.Env(), "unknown operator id");
  return g_ops[id];
}

Napi::Value OpSchema(const Napi::CallbackInfo& info) {
  std::ostringstream out;
  out << OpById(info).schema();
  return Napi::String::New(info.Env(), out.str());
}

// callOp(id, args[]) -> result (a handle, a number, null, or an array of them for several returns)
Napi::Value CallOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const c10::OperatorHandle& op = OpById(info);
  const c10::FunctionSchema& schema = op.schema();
  if (info.Length() < 2 || !info[1].IsArray()) throw Napi::TypeError::New(env, schema.name() + ": argument array expected");
  Napi::Array args = info[1].As<Napi::Array>();
  const auto& formals = schema.arguments();
  if (args.Length() > formals.size()) {
    throw Napi::TypeError::New(env, schema.name() + ": " + std::to_string(args.Length()) + " arguments given, at most " +
                                        std::to_string(formals.size()) + " accepted");
  }
  torch::jit::Stack stack;
  stack.reserve(formals.size());
  for (size_t i = 0; i < formals.size(); ++i) {
    const c10::Argument& formal = formals[i];
    Napi::Value v = i < args.Length() ? args.Get(static_cast<uint32_t>(i)) : env.Undefined();
    if (v.IsUndefined()) {
      if (formal.default_value()) {
        stack.push_back(*formal.default_value());
        continue;
      }
      if (formal.type()->kind() == c10::TypeKind::OptionalType) {
        stack.push_back(c10::IValue());
        continue;
      }
      throw Napi::TypeError::New(env, schema.name() + ": missing argument '" + formal.name() + "'");
    }
    stack.push_back(ToIValue(env, v, formal.type(), schema, formal));
  }
  // Tensor arguments are kept aside so that an error can name their shapes; the stack is consumed.
  std::vector<std::pair<size_t, at::Tensor>> tensor_args;
  for (size_t i = 0; i < stack.size(); ++i) {
    if (stack[i].isTensor()) tensor_args.emplace_back(i, stack[i].toTensor());
  }
  try {
    op.callBoxed(&stack);
  } catch (const c10::Error& e) {
    throw Napi::Error::New(env, CallContext(schema, tensor_args) + ": " + e.what_without_backtrace());
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, CallContext(schema, tensor_args) + ": " + e.what());
  }
  if (stack.size() == 1) return FromIValue(env, stack[0]);
  Napi::Array out = Napi::Array::New(env, stack.size());
  for (size_t i = 0; i < stack.size(); ++i) out.Set(static_cast<uint32_t>(i), FromIValue(env, stack[i]));
  return out;
}

}  // namespace

void InitOps(Napi::Env env, Napi::Object exports) {
  exports.Set("opHandle", Napi::Function::New(env, OpHandle, "opHandle"));
  exports.Set("opSchema", Napi::Function::New(env, OpSchema, "opSchema"));
  exports.Set("callOp", Napi::Function::New(env, CallOp, "callOp"));
}

}  // namespace mdprop
