// Reading the storages of a PyTorch checkpoint (.pth/.pt as torch.save writes it since 1.6: a zip
// holding `data.pkl`, the pickled object, and one record `data/<key>` of raw bytes per storage)
// with libtorch's own zip reader, which checks each record's CRC. The archive's directory and its
// pickle are read and checked on the TypeScript side first (src/torch/zip-directory.ts,
// src/torch/pickle.ts), which then asks for the records the pickle refers to, and only those:
// each comes back as a uint8 tensor owning the bytes the reader read, and the state dict's tensors
// are views of it, so a checkpoint is copied once, from the file.
#include "common.h"
#include <caffe2/serialize/inline_container.h>

namespace mdprop {
namespace {

// A record as a 1-D uint8 tensor that owns the bytes the zip reader read: no further copy.
at::Tensor RecordTensor(caffe2::serialize::PyTorchStreamReader& reader, const std::string& name) {
  at::DataPtr data;
  size_t size = 0;
  std::tie(data, size) = reader.getRecord(name);
  c10::Storage storage(c10::Storage::use_byte_size_t(), size, std::move(data), nullptr, false);
  return at::empty({0}, at::TensorOptions().dtype(at::kByte)).set_(storage, 0, {static_cast<int64_t>(size)}, {1});
}

// readTorchZipRecords(path, names) -> [uint8 tensor handle, ...], names relative to the archive's folder
Napi::Value ReadTorchZipRecords(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsString() || !info[1].IsArray()) throw Napi::TypeError::New(env, "readTorchZipRecords(path, names)");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  Napi::Array names = info[1].As<Napi::Array>();
  std::vector<std::string> wanted(names.Length());
  for (uint32_t i = 0; i < names.Length(); ++i) {
    Napi::Value name = names.Get(i);
    if (!name.IsString()) throw Napi::TypeError::New(env, "readTorchZipRecords: names must be strings");
    wanted[i] = name.As<Napi::String>().Utf8Value();
  }
  return Guarded(env, path, [&]() -> Napi::Value {
    caffe2::serialize::PyTorchStreamReader reader(path);
    std::vector<at::Tensor> records;
    records.reserve(wanted.size());
    for (const std::string& name : wanted) records.push_back(RecordTensor(reader, name));
    Napi::Array out = Napi::Array::New(env, records.size());
    for (uint32_t i = 0; i < records.size(); ++i) out.Set(i, TensorHandle::Wrap(env, std::move(records[i])));
    return out;
  });
}

}  // namespace

void InitTorchZip(Napi::Env env, Napi::Object exports) {
  exports.Set("readTorchZipRecords", Napi::Function::New(env, ReadTorchZipRecords, "readTorchZipRecords"));
}

}  // namespace mdprop
