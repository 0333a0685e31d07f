#include "matcomp/compression/export.h"

#include <zlib.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "matcomp/compression/compressed_weight.h"
#include "matcomp/compression/module_types.h"
#include "matcomp/compression/pruning.h"
#include "matcomp/layers/module_factory.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {

constexpr char kMagic[8] = {'M', 'C', 'E', 'X', 'P', 'O', 'R', 'T'};
constexpr int kVersion = 2;  // 2: the model's structure description and registry states

// Integers of an npy array as int64 (for packing).
std::vector<int64_t> as_integers(const NpyArray& a) {
  const size_t item = npy_item_size(a.dtype);
  const size_t n = a.bytes.size() / item;
  std::vector<int64_t> v(n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = a.bytes.data() + i * item;
    if (a.dtype == "|u1" || a.dtype == "|b1") v[i] = p[0];
    else if (a.dtype == "|i1") v[i] = static_cast<int8_t>(p[0]);
    else if (a.dtype == "<u2") { uint16_t x; std::memcpy(&x, p, 2); v[i] = x; }
    else if (a.dtype == "<i2") { int16_t x; std::memcpy(&x, p, 2); v[i] = x; }
    else if (a.dtype == "<i4") { int32_t x; std::memcpy(&x, p, 4); v[i] = x; }
    else if (a.dtype == "<u4") { uint32_t x; std::memcpy(&x, p, 4); v[i] = x; }
    else if (a.dtype == "<i8" || a.dtype == "<u8") { int64_t x; std::memcpy(&x, p, 8); v[i] = x; }
    else throw ValueError("export: cannot pack dtype " + a.dtype);
  }
  return v;
}

NpyArray from_integers(const std::vector<int64_t>& v, const std::string& dtype, const Shape& shape) {
  NpyArray a{dtype, shape, std::vector<uint8_t>(v.size() * npy_item_size(dtype))};
  const size_t item = npy_item_size(dtype);
  for (size_t i = 0; i < v.size(); ++i) std::memcpy(a.bytes.data() + i * item, &v[i], item);  // little-endian
  return a;
}

// Packs values (after subtracting `offset`) at `bits` bits each, LSB first.
void pack(const std::vector<int64_t>& v, int64_t offset, int bits, std::string& out) {
  uint64_t acc = 0;
  int filled = 0;
  for (int64_t x : v) {
    acc |= static_cast<uint64_t>(x - offset) << filled;
    filled += bits;
    while (filled >= 8) {
      out.push_back(static_cast<char>(acc & 0xff));
      acc >>= 8;
      filled -= 8;
    }
  }
  if (filled > 0) out.push_back(static_cast<char>(acc & 0xff));
}

std::vector<int64_t> unpack(const uint8_t* data, size_t count, int64_t offset, int bits) {
  std::vector<int64_t> v(count);
  uint64_t acc = 0;
  int filled = 0;
  size_t byte = 0;
  const uint64_t mask = bits == 64 ? ~0ull : ((1ull << bits) - 1);
  for (size_t i = 0; i < count; ++i) {
    while (filled < bits) {
      acc |= static_cast<uint64_t>(data[byte++]) << filled;
      filled += 8;
    }
    v[i] = static_cast<int64_t>(acc & mask) + offset;
    acc >>= bits;
    filled -= bits;
  }
  return v;
}

int bits_for(int64_t range) {
  int b = 1;
  while (b < 63 && (1ll << b) <= range) ++b;
  return b;
}

}  // namespace

ExportSize export_model(const std::string& path, const Module& model) {
  nlohmann::json entries = nlohmann::json::array();
  std::string data;
  ExportSize size;
  // Pruned matrices: keep only the surviving values. Pruning scores are training state: the
  // export leaves them out (their module too, so the loaded structure has none).
  std::map<std::string, const PrunedMatrix*> pruned;
  std::vector<std::string> training_only;  // "<path>." prefixes
  std::vector<std::shared_ptr<CompressedWeight>> seams;
  for (const auto& [name, module] : model.named_modules()) {
    if (module->type() == "PruningScore") training_only.push_back(name + ".");
    if (auto w = std::dynamic_pointer_cast<CompressedWeight>(module)) {
      seams.push_back(w);
      if (auto* p = dynamic_cast<const PrunedMatrix*>(w->matrix().get())) pruned["model." + name + ".values"] = p;
    }
  }
  const auto exported = [&](const std::string& name) {
    for (const std::string& prefix : training_only)
      if (name.rfind(prefix, 0) == 0) return false;
    return true;
  };
  const auto add_floats = [&](const std::string& key, const Tensor& t) {
    size.dense_float_bytes += 4 * t.numel();
    auto it = pruned.find(key);
    if (it != pruned.end()) {
      const std::vector<uint8_t>& mask = it->second->mask();
      int64_t kept = 0;
      for (int64_t i = 0; i < t.numel(); ++i)
        if (mask[static_cast<size_t>(i)]) {
          data.append(reinterpret_cast<const char*>(t.data() + i), 4);
          ++kept;
        }
      entries.push_back({{"key", key}, {"kind", "masked_f32"}, {"shape", t.shape()}, {"count", kept}});
      return;
    }
    data.append(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(4 * t.numel()));
    entries.push_back({{"key", key}, {"kind", "f32"}, {"shape", t.shape()}});
  };
  for (const auto& [name, var] : model.named_parameters())
    if (exported(name)) add_floats("model." + name, var.value());
  for (const auto& [name, t] : model.named_buffers())
    if (exported(name)) add_floats("buffer." + name, t);
  // Dense-model size counts what the uncompressed layers would have held, not the factors.
  if (!seams.empty()) {
    size.dense_float_bytes = 0;
    for (const auto& [name, var] : model.named_parameters()) size.dense_float_bytes += 4 * var.numel();
    for (const auto& [name, t] : model.named_buffers())
      if (exported(name)) size.dense_float_bytes += 4 * t.numel();
    for (const auto& seam : seams) {
      int64_t factor_bytes = 0;
      for (const auto& [name, var] : seam->named_parameters()) factor_bytes += 4 * var.numel();
      for (const auto& [name, t] : seam->named_buffers())
        if (name.rfind("score.", 0) != 0) factor_bytes += 4 * t.numel();
      size.dense_float_bytes += 4 * seam->rows() * seam->cols() - factor_bytes;
    }
  }
  {
    for (const auto& [key, array] : model.named_states()) {
      if (!exported(key)) continue;
      const std::vector<int64_t> v = as_integers(array);
      int64_t lo = 0, hi = 0;
      if (!v.empty()) {
        lo = *std::min_element(v.begin(), v.end());
        hi = *std::max_element(v.begin(), v.end());
      }
      const int bits = bits_for(hi - lo);
      entries.push_back({{"key", "state." + key}, {"kind", "packed"}, {"dtype", array.dtype}, {"shape", array.shape},
                         {"count", v.size()}, {"offset", lo}, {"bits", bits}});
      pack(v, lo, bits, data);
    }
  }
  nlohmann::json header = {{"format", "matcomp-export"}, {"version", kVersion}, {"entries", entries}};
  nlohmann::json structure = describe_structure(model);
  nlohmann::json modules = nlohmann::json::array();
  for (const auto& m : structure["modules"])
    if (exported(m["path"].get<std::string>() + ".x") && m["type"] != "PruningScore") modules.push_back(m);
  structure["modules"] = modules;
  header["structure"] = structure;
  const std::string header_text = header.dump();
  std::string payload;
  const uint64_t header_len = header_text.size();
  payload.append(reinterpret_cast<const char*>(&header_len), 8);
  payload += header_text;
  payload += data;
  uLongf bound = compressBound(payload.size());
  std::string packed(bound, '\0');
  MC_CHECK(compress2(reinterpret_cast<Bytef*>(packed.data()), &bound, reinterpret_cast<const Bytef*>(payload.data()),
                     payload.size(), 9) == Z_OK,
           IoError, "export: zlib compression failed");
  packed.resize(bound);
  std::string file(kMagic, 8);
  const uint64_t raw_len = payload.size();
  file.append(reinterpret_cast<const char*>(&raw_len), 8);
  file += packed;
  write_file_atomically(path, file);
  size.file_bytes = static_cast<int64_t>(file.size());
  return size;
}

void load_exported_model(const std::string& path, Module& model) {
  register_compression_module_types();
  const std::string file = read_file(path);
  MC_CHECK(file.size() >= 16 && std::memcmp(file.data(), kMagic, 8) == 0, IoError, path << ": not a matcomp export (bad magic)");
  uint64_t raw_len;
  std::memcpy(&raw_len, file.data() + 8, 8);
  MC_CHECK(raw_len < (1ull << 36), IoError, path << ": implausible payload size " << raw_len);
  std::string payload(raw_len, '\0');
  uLongf got = raw_len;
  const int rc = uncompress(reinterpret_cast<Bytef*>(payload.data()), &got, reinterpret_cast<const Bytef*>(file.data() + 16),
                            file.size() - 16);
  MC_CHECK(rc == Z_OK && got == raw_len, IoError, path << ": corrupt or truncated zlib payload (zlib code " << rc << ")");
  uint64_t header_len;
  std::memcpy(&header_len, payload.data(), 8);
  MC_CHECK(8 + header_len <= payload.size(), IoError, path << ": header runs past the payload");
  const nlohmann::json header = nlohmann::json::parse(payload.substr(8, header_len));
  MC_CHECK(header.value("format", "") == "matcomp-export" && header.value("version", 0) == kVersion, IoError,
           path << ": unsupported export format/version");
  const auto* data = reinterpret_cast<const uint8_t*>(payload.data() + 8 + header_len);
  const size_t data_len = payload.size() - 8 - header_len;
  size_t pos = 0;
  std::map<std::string, NpyArray> tensors;
  std::map<std::string, std::pair<Shape, std::vector<float>>> masked;
  for (const auto& e : header["entries"]) {
    const std::string key = e["key"];
    const std::string kind = e["kind"];
    const Shape shape = e["shape"].get<Shape>();
    if (kind == "f32" || kind == "masked_f32") {
      const size_t count = kind == "f32" ? static_cast<size_t>(numel_of(shape)) : e["count"].get<size_t>();
      MC_CHECK(pos + 4 * count <= data_len, IoError, path << ": truncated data for " << key);
      if (kind == "f32") {
        tensors[key] = NpyArray{"<f4", shape, std::vector<uint8_t>(data + pos, data + pos + 4 * count)};
      } else {
        std::vector<float> v(count);
        std::memcpy(v.data(), data + pos, 4 * count);
        masked[key] = {shape, std::move(v)};
      }
      pos += 4 * count;
    } else {
      const size_t count = e["count"];
      const int bits = e["bits"];
      const size_t bytes = (count * static_cast<size_t>(bits) + 7) / 8;
      MC_CHECK(pos + bytes <= data_len, IoError, path << ": truncated data for " << key);
      tensors[key] = from_integers(unpack(data + pos, count, e["offset"].get<int64_t>(), bits), e["dtype"], shape);
      pos += bytes;
    }
  }
  // Masked values are scattered back once the masks are known.
  for (auto& [key, sv] : masked) {
    const std::string layer = key.substr(6, key.size() - 6 - 7);  // "model.<layer>.values"
    const NpyArray& mask = tensors.at("state." + layer + ".mask");
    Tensor full = Tensor::zeros(sv.first);
    size_t k = 0;
    for (int64_t i = 0; i < full.numel(); ++i)
      if (mask.bytes[static_cast<size_t>(i)]) {
        MC_CHECK(k < sv.second.size(), IoError, path << ": mask and values of " << layer << " disagree");
        full.data()[i] = sv.second[k++];
      }
    tensors[key] = to_npy_array(full);
  }
  MC_CHECK(header.contains("structure"), IoError, path << ": the header has no structure description");
  rebuild_structure(model, header["structure"]);
  for (auto& [name, var] : model.named_parameters()) {
    auto it = tensors.find("model." + name);
    MC_CHECK(it != tensors.end(), IoError, path << ": no values for parameter " << name);
    MC_CHECK(it->second.shape == var.shape(), IoError,
             path << ": " << name << " has shape " << to_string(it->second.shape) << ", the model wants " << to_string(var.shape()));
    std::memcpy(var.value().data(), it->second.bytes.data(), it->second.bytes.size());
    var.value().mark_modified();
  }
  for (auto& [name, t] : model.named_buffers()) {
    auto it = tensors.find("buffer." + name);
    MC_CHECK(it != tensors.end() && it->second.shape == t.shape(), IoError, path << ": missing or mis-shaped buffer " << name);
    std::memcpy(t.data(), it->second.bytes.data(), it->second.bytes.size());
    t.mark_modified();
  }
  for (const auto& [name, a] : model.named_states()) {
    auto it = tensors.find("state." + name);
    MC_CHECK(it != tensors.end() && it->second.shape == a.shape && it->second.dtype == a.dtype, IoError,
             path << ": missing or mis-shaped state " << name);
    model.set_state(name, it->second);
  }
  for (const auto& [name, m] : model.named_modules()) m->on_values_loaded();
  model.on_values_loaded();
}

}  // namespace mc
