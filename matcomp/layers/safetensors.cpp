#include "matcomp/layers/safetensors.h"

#include <cstring>
#include <nlohmann/json.hpp>
#include <ostream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {
const std::pair<const char*, const char*> kDtypes[] = {
    {"<f4", "F32"}, {"<f8", "F64"}, {"<i4", "I32"}, {"<i8", "I64"}, {"|u1", "U8"}, {"|i1", "I8"},
    {"<u2", "U16"}, {"<i2", "I16"}, {"<u4", "U32"}, {"<u8", "U64"}, {"|b1", "BOOL"}};
}

std::string safetensors_dtype(const std::string& npy_dtype) {
  for (const auto& [npy, st] : kDtypes)
    if (npy_dtype == npy) return st;
  throw IoError("no safetensors dtype for numpy dtype '" + npy_dtype + "'");
}

std::string npy_dtype_from_safetensors(const std::string& st_dtype) {
  for (const auto& [npy, st] : kDtypes)
    if (st_dtype == st) return npy;
  throw IoError("unsupported safetensors dtype '" + st_dtype + "'");
}

void write_safetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                       const std::vector<std::pair<std::string, NpyArray>>& tensors) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  size_t offset = 0;
  for (const auto& [name, a] : tensors) {
    MC_CHECK(name != "__metadata__" && !header.contains(name), IoError, path << ": duplicate or reserved tensor name '" << name << "'");
    MC_CHECK(static_cast<int64_t>(a.bytes.size()) == numel_of(a.shape) * static_cast<int64_t>(npy_item_size(a.dtype)), IoError,
             path << ": tensor '" << name << "' has " << a.bytes.size() << " bytes for shape " << to_string(a.shape)
                  << " of " << a.dtype);
    header[name] = {{"dtype", safetensors_dtype(a.dtype)}, {"shape", a.shape}, {"data_offsets", {offset, offset + a.bytes.size()}}};
    offset += a.bytes.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data section 8-byte aligned, as the reference writer does
  write_file_atomically(path, [&](std::ostream& out) {
    uint64_t n = text.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const auto& [name, a] : tensors)
      out.write(reinterpret_cast<const char*>(a.bytes.data()), static_cast<std::streamsize>(a.bytes.size()));
  });
}

SafetensorsContents read_safetensors(const std::string& path) {
  const std::string file = read_file(path);
  MC_CHECK(file.size() >= 8, IoError,
           path << ": truncated file (" << file.size() << " bytes; a checkpoint starts with an 8-byte header length)");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(file[static_cast<size_t>(i)])) << (8 * i);
  MC_CHECK(n <= file.size() - 8, IoError,
           path << ": header length " << n << " goes beyond the file (" << file.size()
                << " bytes): truncated or not a safetensors checkpoint");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file.substr(8, n));
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + ": malformed header JSON: " + e.what());
  }
  MC_CHECK(header.is_object(), IoError, path << ": header is not a JSON object");
  const size_t data_start = 8 + n, data_size = file.size() - data_start;
  SafetensorsContents out;
  for (auto it = header.begin(); it != header.end(); ++it) {
    try {
      if (it.key() == "__metadata__") {
        for (auto m = it.value().begin(); m != it.value().end(); ++m) out.metadata[m.key()] = m.value().get<std::string>();
        continue;
      }
      const nlohmann::json& e = it.value();
      NpyArray a;
      a.dtype = npy_dtype_from_safetensors(e.at("dtype").get<std::string>());
      a.shape = e.at("shape").get<Shape>();
      const auto off = e.at("data_offsets").get<std::vector<uint64_t>>();
      MC_CHECK(off.size() == 2 && off[0] <= off[1], IoError, path << ": tensor '" << it.key() << "' has bad data_offsets");
      MC_CHECK(off[1] <= data_size, IoError,
               path << ": truncated file: tensor '" << it.key() << "' needs bytes [" << off[0] << ", " << off[1]
                    << ") of the data section, which has only " << data_size << " bytes");
      MC_CHECK(off[1] - off[0] == static_cast<uint64_t>(numel_of(a.shape)) * npy_item_size(a.dtype), IoError,
               path << ": tensor '" << it.key() << "' holds " << off[1] - off[0] << " bytes, but shape "
                    << to_string(a.shape) << " of " << e.at("dtype").get<std::string>() << " needs "
                    << numel_of(a.shape) * static_cast<int64_t>(npy_item_size(a.dtype)));
      a.bytes.resize(off[1] - off[0]);
      if (!a.bytes.empty()) std::memcpy(a.bytes.data(), file.data() + data_start + off[0], a.bytes.size());
      out.tensors.emplace(it.key(), std::move(a));
    } catch (const nlohmann::json::exception& ex) {
      throw IoError(path + ": malformed header entry '" + it.key() + "': " + ex.what());
    }
  }
  return out;
}

}  // namespace mc
