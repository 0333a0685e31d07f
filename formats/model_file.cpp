#include "matcomp/formats/model_file.h"

#include <zlib.h>

#include <cstring>
#include <limits>
#include <set>

#include "matcomp/formats/bit_packing.h"
#include "matcomp/core/crc32_zlib.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {

constexpr char kMagic[8] = {'M', 'C', 'E', 'X', 'P', 'O', 'R', 'T'};
constexpr size_t kFixedHeader = 32;  // magic, version, CRC, payload size, deflated size
constexpr uint64_t kMaxDeflateRatio = 1032;  // zlib never inflates more than ~1032:1

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));  // little-endian host
}

template <typename T>
T get(std::string_view bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

std::string deflate_bytes(const std::string& raw) {
  uLongf bound = compressBound(raw.size());
  std::string out(bound, '\0');
  MC_CHECK(compress2(reinterpret_cast<Bytef*>(out.data()), &bound, reinterpret_cast<const Bytef*>(raw.data()), raw.size(),
                     Z_BEST_COMPRESSION) == Z_OK,
           IoError, "model file: zlib compression failed");
  out.resize(bound);
  return out;
}

// Inflates a zlib stream that must yield exactly `size` bytes; nullopt-free: throws IoError.
std::string inflate_bytes(std::string_view deflated, uint64_t size, const std::string& source) {
  std::string raw(size, '\0');
  uLongf got = size;
  uLong consumed = deflated.size();
  const int rc = uncompress2(reinterpret_cast<Bytef*>(raw.data()), &got, reinterpret_cast<const Bytef*>(deflated.data()), &consumed);
  MC_CHECK(rc == Z_OK && got == size && consumed == deflated.size(), IoError,
           source << ": corrupt zlib payload (zlib code " << rc << ", " << got << " of " << size << " bytes)");
  return raw;
}

// Shape from JSON: non-negative extents whose product fits comfortably in int64.
Shape shape_from(const nlohmann::json& j, const std::string& what) {
  MC_CHECK(j.is_array() && j.size() <= 8, IoError, what << ": shape is not an array of at most 8 extents");
  Shape shape;
  int64_t numel = 1;
  for (const auto& d : j) {
    MC_CHECK(d.is_number_integer() && d.get<int64_t>() >= 0, IoError, what << ": bad extent " << d.dump() << " in shape");
    MC_CHECK(!__builtin_mul_overflow(numel, d.get<int64_t>(), &numel) && numel <= (int64_t{1} << 56), IoError,
             what << ": shape " << j.dump() << " is too large");
    shape.push_back(d.get<int64_t>());
  }
  return shape;
}

// Recognises a version-1 file (magic, u64 payload size, zlib stream whose JSON says version 1).
bool looks_like_version_1(std::string_view bytes) {
  if (bytes.size() < 18) return false;
  const auto size = get<uint64_t>(bytes, 8);
  if (size < 8 || size > kMaxDeflateRatio * bytes.size()) return false;
  std::string raw(size, '\0');
  uLongf got = size;
  uLong consumed = bytes.size() - 16;
  if (uncompress2(reinterpret_cast<Bytef*>(raw.data()), &got, reinterpret_cast<const Bytef*>(bytes.data() + 16), &consumed) != Z_OK)
    return false;
  const auto header_len = get<uint64_t>(raw, 0);
  if (header_len > raw.size() - 8) return false;
  const auto header = nlohmann::json::parse(raw.substr(8, header_len), nullptr, false);
  return header.is_object() && header.value("version", 0) == 1;
}

}  // namespace

std::string encode_model_file(const ModelFileContents& contents) {
  nlohmann::json entries = nlohmann::json::array();
  std::string data;
  std::map<std::string, const NpyArray*> integers;
  for (const auto& [name, array] : contents.integers) {
    MC_CHECK(integers.emplace(name, &array).second, ValueError, "model file: two integer arrays named " << name);
    const PackedIntegers p = pack_integers(array);
    nlohmann::json e = {{"name", name}, {"kind", "int"}, {"dtype", p.dtype}, {"shape", p.shape}, {"bits", p.bits}};
    if (is_signed_dtype(p.dtype)) e["min"] = static_cast<int64_t>(p.min_bits);
    else e["min"] = p.min_bits;
    entries.push_back(std::move(e));
    data += p.bytes;
  }
  std::set<std::string> float_names;
  for (const auto& [name, t] : contents.floats) {
    MC_CHECK(float_names.insert(name).second && !integers.count(name), ValueError, "model file: two entries named " << name);
    auto masked = contents.masked_by.find(name);
    if (masked == contents.masked_by.end()) {
      entries.push_back({{"name", name}, {"kind", "f32"}, {"shape", t.shape()}});
      data.append(reinterpret_cast<const char*>(t.data()), static_cast<size_t>(4 * t.numel()));
      continue;
    }
    auto mask_it = integers.find(masked->second);
    MC_CHECK(mask_it != integers.end(), ValueError, "model file: mask " << masked->second << " of " << name << " is not stored");
    const NpyArray& mask = *mask_it->second;
    MC_CHECK((mask.dtype == "|u1" || mask.dtype == "|b1") && static_cast<int64_t>(mask.bytes.size()) == t.numel(), ValueError,
             "model file: mask " << masked->second << " (" << mask.dtype << " " << to_string(mask.shape) << ") does not fit "
                                 << name << " " << to_string(t.shape()));
    int64_t kept = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const uint8_t keep = mask.bytes[static_cast<size_t>(i)];
      MC_CHECK(keep <= 1, ValueError, "model file: mask " << masked->second << " holds " << int(keep) << ", not 0/1");
      MC_CHECK(keep || t.data()[i] == 0.0f, ValueError,
               "model file: " << name << " is non-zero at " << i << ", off its mask " << masked->second);
      if (keep) {
        data.append(reinterpret_cast<const char*>(t.data() + i), 4);
        ++kept;
      }
    }
    entries.push_back({{"name", name}, {"kind", "f32_masked"}, {"shape", t.shape()}, {"mask", masked->second}, {"count", kept}});
  }
  const nlohmann::json header = {
      {"format", "matcomp-model"}, {"version", kModelFileVersion}, {"model", contents.model}, {"entries", entries}};
  const std::string header_text = header.dump();
  std::string payload;
  put<uint64_t>(payload, header_text.size());
  payload += header_text;
  payload += data;
  const std::string deflated = deflate_bytes(payload);

  std::string covered;  // bytes 16..end: what the CRC covers
  put<uint64_t>(covered, payload.size());
  put<uint64_t>(covered, deflated.size());
  covered += deflated;
  std::string file(kMagic, sizeof kMagic);
  put<uint32_t>(file, kModelFileVersion);
  put<uint32_t>(file, crc32_zlib(covered));
  return file + covered;
}

ModelFileContents decode_model_file(std::string_view bytes, const std::string& source) {
  MC_CHECK(bytes.size() >= 16 && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0, IoError,
           source << ": not a matcomp model file (expected magic \"MCEXPORT\" in the first 8 bytes)");
  const auto version = get<uint32_t>(bytes, 8);
  if (version != kModelFileVersion) {
    MC_CHECK(!looks_like_version_1(bytes), IoError,
             source << ": model file format version 1 (written by an older matcomp); this build reads version "
                    << kModelFileVersion << ": export the model again from its checkpoint");
    throw IoError(source + ": unknown model file format version " + std::to_string(version) + " (this build reads version " +
                  std::to_string(kModelFileVersion) + ")");
  }
  MC_CHECK(bytes.size() >= kFixedHeader, IoError,
           source << ": truncated: " << bytes.size() << " bytes, the fixed header alone is " << kFixedHeader);
  const auto stored_crc = get<uint32_t>(bytes, 12);
  const uint32_t crc = crc32_zlib(bytes.substr(16));
  MC_CHECK(crc == stored_crc, IoError,
           source << ": checksum mismatch (CRC-32 of bytes 16.." << bytes.size() << " is " << crc << ", the file says "
                  << stored_crc << "): the file is corrupt or truncated");
  const auto payload_size = get<uint64_t>(bytes, 16);
  const auto deflated_size = get<uint64_t>(bytes, 24);
  MC_CHECK(deflated_size == bytes.size() - kFixedHeader, IoError,
           source << ": deflated size " << deflated_size << " but " << bytes.size() - kFixedHeader << " bytes follow the header");
  MC_CHECK(payload_size >= 8 && payload_size / kMaxDeflateRatio <= deflated_size, IoError,
           source << ": implausible payload size " << payload_size << " for " << deflated_size << " deflated bytes");
  const std::string payload = inflate_bytes(bytes.substr(kFixedHeader), payload_size, source);

  const auto header_len = get<uint64_t>(payload, 0);
  MC_CHECK(header_len <= payload.size() - 8, IoError, source << ": header length " << header_len << " runs past the payload");
  const auto header = nlohmann::json::parse(payload.substr(8, header_len), nullptr, false);
  MC_CHECK(header.is_object(), IoError, source << ": the header is not a JSON object");
  MC_CHECK(header.value("format", "") == "matcomp-model", IoError, source << ": header format is not \"matcomp-model\"");
  MC_CHECK(header.contains("version") && header["version"] == kModelFileVersion, IoError,
           source << ": header version " << header.value("version", nlohmann::json()).dump() << ", expected " << kModelFileVersion);
  MC_CHECK(header.contains("model") && header.contains("entries") && header["entries"].is_array(), IoError,
           source << ": header lacks \"model\" or \"entries\"");

  const std::string_view data = std::string_view(payload).substr(8 + header_len);
  size_t pos = 0;
  const auto take = [&](uint64_t count, const std::string& what) {
    MC_CHECK(count <= data.size() - pos, IoError,
             source << ": " << what << " needs " << count << " bytes, " << data.size() - pos << " are left");
    const std::string_view piece = data.substr(pos, count);
    pos += count;
    return piece;
  };
  ModelFileContents out;
  out.model = header["model"];
  std::set<std::string> names;
  std::vector<std::pair<size_t, std::pair<std::string, std::string>>> masked;  // float index, (name, mask)
  std::map<std::string, const NpyArray*> integers_by_name;
  std::vector<std::pair<std::string, std::string_view>> masked_values;
  try {
    for (const auto& e : header["entries"]) {
      const std::string name = e.at("name").get<std::string>();
      const std::string what = source + ": entry " + name;
      MC_CHECK(names.insert(name).second, IoError, what << " appears twice");
      const std::string kind = e.at("kind").get<std::string>();
      const Shape shape = shape_from(e.at("shape"), what);
      const auto numel = static_cast<uint64_t>(numel_of(shape));
      if (kind == "f32") {
        const std::string_view raw = take(4 * numel, what);
        Tensor t = Tensor::empty(shape);
        std::memcpy(t.data(), raw.data(), raw.size());
        out.floats.emplace_back(name, std::move(t));
      } else if (kind == "f32_masked") {
        const auto count = e.at("count").get<uint64_t>();
        MC_CHECK(count <= numel, IoError, what << ": " << count << " kept values for " << numel << " entries");
        out.floats.emplace_back(name, Tensor::zeros(shape));
        masked.push_back({out.floats.size() - 1, {name, e.at("mask").get<std::string>()}});
        masked_values.emplace_back(name, take(4 * count, what));
      } else if (kind == "int") {
        PackedIntegers p;
        p.dtype = e.at("dtype").get<std::string>();
        MC_CHECK(is_integer_dtype(p.dtype), IoError, what << ": dtype " << p.dtype << " is not an integer type");
        p.shape = shape;
        p.bits = e.at("bits").get<int>();
        const auto& min = e.at("min");
        MC_CHECK(min.is_number_integer(), IoError, what << ": \"min\" is not an integer");
        p.min_bits = min.is_number_unsigned() ? min.get<uint64_t>() : static_cast<uint64_t>(min.get<int64_t>());
        p.bytes = std::string(take(packed_byte_count(numel, p.bits, what), what));
        out.integers.emplace_back(name, unpack_integers(p, what));
      } else {
        throw IoError(what + ": unknown kind \"" + kind + "\"");
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw IoError(source + ": malformed entry in the header (" + e.what() + ")");
  }
  MC_CHECK(pos == data.size(), IoError, source << ": " << data.size() - pos << " bytes after the last entry");
  for (const auto& [name, array] : out.integers) integers_by_name[name] = &array;
  for (size_t k = 0; k < masked.size(); ++k) {
    const auto& [index, names_pair] = masked[k];
    const auto& [name, mask_name] = names_pair;
    auto it = integers_by_name.find(mask_name);
    MC_CHECK(it != integers_by_name.end(), IoError, source << ": mask " << mask_name << " of " << name << " is not in the file");
    const NpyArray& mask = *it->second;
    Tensor& t = out.floats[index].second;
    MC_CHECK((mask.dtype == "|u1" || mask.dtype == "|b1") && static_cast<int64_t>(mask.bytes.size()) == t.numel(), IoError,
             source << ": mask " << mask_name << " (" << mask.dtype << " " << to_string(mask.shape) << ") does not fit " << name
                    << " " << to_string(t.shape()));
    const std::string_view values = masked_values[k].second;
    size_t used = 0;
    for (int64_t i = 0; i < t.numel(); ++i) {
      const uint8_t keep = mask.bytes[static_cast<size_t>(i)];
      MC_CHECK(keep <= 1, IoError, source << ": mask " << mask_name << " holds " << int(keep) << ", not 0/1");
      if (!keep) continue;
      MC_CHECK(used + 4 <= values.size(), IoError,
               source << ": mask " << mask_name << " keeps more entries than the " << values.size() / 4 << " stored for " << name);
      std::memcpy(t.data() + i, values.data() + used, 4);
      used += 4;
    }
    MC_CHECK(used == values.size(), IoError,
             source << ": mask " << mask_name << " keeps " << used / 4 << " entries, " << values.size() / 4 << " are stored for " << name);
    out.masked_by[name] = mask_name;
  }
  return out;
}

}  // namespace mc
