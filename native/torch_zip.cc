// Reading the archive of a PyTorch checkpoint (.pth/.pt as torch.save writes it since 1.6: a zip
// holding `data.pkl`, the pickled object, and one record `data/<key>` of raw bytes per storage)
// with libtorch's own zip reader. libtorch's unpickler cannot take a state dict (it turns every
// collections.OrderedDict into None), so the pickle is interpreted on the TypeScript side
// (src/torch/pickle.ts), which also decides what the bytes of each storage mean: each record is
// handed over as a uint8 tensor owning the bytes the reader read, and the state dict's tensors
// are views of it, so a checkpoint is copied once, from the file.
#include "common.h"
#include <caffe2/serialize/inline_container.h>

namespace mdprop {
namespace {

Napi::ArrayBuffer CopyRecord(Napi::Env env, caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  at::DataPtr data;
  size_t size = 0;
  std::tie(data, size) = reader.getRecord(name);
  Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, size);
  if (size) std::memcpy(buffer.Data(), data.get(), size);
  return buffer;
}

// A record as a 1-D uint8 tensor that owns the bytes the zip reader read: no further copy.
at::Tensor RecordTensor(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  at::DataPtr data;
  size_t size = 0;
  std::tie(data, size) = reader.getRecord(name);
  c10::Storage storage(c10::Storage::use_byte_size_t(), size, std::move(data), nullptr, false);
  return at::empty({0}, at::TensorOptions().dtype(at::kByte)).set_(storage, 0, {static_cast<int64_t>(size)}, {1});
}

// readTorchZip(path) -> { pickle: ArrayBuffer, storages: [[key, uint8 tensor handle], ...] }
Napi::Value ReadTorchZip(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Napi::TypeError::New(env, "readTorchZip(path)");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  return Guarded(env, path, [&]() -> Napi::Value {
    caffe2::serialize::PyTorchStreamReader reader(path);
    if (!reader.hasRecord("data.pkl")) throw std::runtime_error("the zip archive holds no data.pkl; it is not a torch.save checkpoint");
    Napi::Object out = Napi::Object::New(env);
    out.Set("pickle", CopyRecord(env, reader, "data.pkl"));
    Napi::Array storages = Napi::Array::New(env);
    uint32_t n = 0;
    const std::string prefix = "data/";
    for (const std::string& name : reader.getAllRecords()) {
      if (name.compare(0, prefix.size(), prefix) != 0) continue;
      Napi::Array pair = Napi::Array::New(env, 2);
      pair.Set(0u, Napi::String::New(env, name.substr(prefix.size())));
      pair.Set(1u, TensorHandle::Wrap(env, RecordTensor(reader, name)));
      storages.Set(n++, pair);
    }
    out.Set("storages", storages);
    return out;
  });
}

}  // namespace

void InitTorchZip(Napi::Env env, Napi::Object exports) {
  exports.Set("readTorchZip", Napi::Function::New(env, ReadTorchZip, "readTorchZip"));
}

}  // namespace mdprop
