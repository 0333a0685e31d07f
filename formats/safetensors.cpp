#include "matcomp/formats/safetensors.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <ostream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/crc32_zlib.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {
const std::pair<const char*, const char*> kDtypes[] = {
    {"<f4", "F32"}, {"<f8", "F64"}, {"<i4", "I32"}, {"<i8", "I64"}, {"|u1", "U8"}, {"|i1", "I8"},
    {"<u2", "U16"}, {"<i2", "I16"}, {"<u4", "U32"}, {"<u8", "U64"}, {"|b1", "BOOL"}};

// Checksums live in __metadata__ (strings only, so every safetensors reader still opens the
// file): "crc32.<tensor>" for each tensor's bytes, "crc32.__metadata__" for the other entries.
const std::string kCrcPrefix = "crc32.";
const std::string kMetadataCrcName = "__metadata__";

size_t tensor_byte_count(const Shape& shape, const std::string& dtype, const std::string& what) {
  return npy_byte_count(shape, npy_item_size(dtype), what);
}

uint32_t parse_crc(const std::string& text, const std::string& key, const std::string& path) {
  MC_CHECK(text.size() == 8 && text.find_first_not_of("0123456789abcdef") == std::string::npos, IoError,
           path << ": checksum entry '" << key << "' is '" << text << "', expected 8 lowercase hex digits");
  return static_cast<uint32_t>(std::stoul(text, nullptr, 16));
}

// The text the metadata checksum covers: key NUL value NUL for each entry that is not a
// checksum, in byte order of the keys (what Python's sorted() gives for str keys).
std::string metadata_checksum_input(const std::map<std::string, std::string>& metadata);

void verify_checksums(const std::map<std::string, std::string>& stored, SafetensorsContents& out, const std::string& path) {
  std::map<std::string, uint32_t> crcs;
  for (const auto& [key, value] : stored) {
    if (key.rfind(kCrcPrefix, 0) == 0)
      crcs[key.substr(kCrcPrefix.size())] = parse_crc(value, key, path);
    else
      out.metadata[key] = value;
  }
  MC_CHECK(!crcs.empty(), IoError,
           path << ": the file carries no checksums (no 'crc32.*' entries in __metadata__): written by a matcomp "
                   "older than checkpoint format 2 or by another safetensors writer, so its contents cannot be "
                   "verified; recompute it with this build");
  const auto meta_crc = crcs.find(kMetadataCrcName);
  MC_CHECK(meta_crc != crcs.end(), IoError, path << ": no checksum entry '" << kCrcPrefix << kMetadataCrcName << "' for the metadata");
  const uint32_t meta_found = crc32_zlib(metadata_checksum_input(out.metadata));
  MC_CHECK(meta_found == meta_crc->second, IoError,
           path << ": the metadata fails its CRC-32 check (stored " << crc32_hex(meta_crc->second) << ", computed "
                << crc32_hex(meta_found) << "): the header was edited or damaged");
  for (const auto& [name, a] : out.tensors) {
    const auto crc = crcs.find(name);
    MC_CHECK(crc != crcs.end(), IoError, path << ": tensor '" << name << "' has no checksum entry '" << kCrcPrefix << name << "'");
    const uint32_t found = crc32_zlib(a.bytes.data(), a.bytes.size());
    MC_CHECK(found == crc->second, IoError,
             path << ": tensor '" << name << "' fails its CRC-32 check (stored " << crc32_hex(crc->second) << ", computed "
                  << crc32_hex(found) << "): its bytes are damaged (a flipped bit or a bad disk block)");
  }
  for (const auto& [name, crc] : crcs)
    MC_CHECK(name == kMetadataCrcName || out.tensors.count(name), IoError,
             path << ": checksum entry '" << kCrcPrefix << name << "' names a tensor the file does not hold");
}

}  // namespace

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

namespace {
std::string metadata_checksum_input(const std::map<std::string, std::string>& metadata) {
  std::string input;
  for (const auto& [key, value] : metadata) {
    if (key.rfind(kCrcPrefix, 0) == 0) continue;
    input += key;
    input += '\0';
    input += value;
    input += '\0';
  }
  return input;
}
}  // namespace

void write_safetensors(const std::string& path, const std::map<std::string, std::string>& metadata,
                       const std::vector<std::pair<std::string, NpyArray>>& tensors) {
  for (const auto& [key, value] : metadata)
    MC_CHECK(key.rfind(kCrcPrefix, 0) != 0, IoError,
             path << ": metadata key '" << key << "' is reserved (keys starting with '" << kCrcPrefix << "' hold checksums)");
  std::map<std::string, std::string> stored = metadata;
  stored[std::string(kCrcPrefix) + kMetadataCrcName] = crc32_hex(crc32_zlib(metadata_checksum_input(metadata)));
  nlohmann::ordered_json entries = nlohmann::ordered_json::object();
  size_t offset = 0;
  for (const auto& [name, a] : tensors) {
    MC_CHECK(name != kMetadataCrcName && !entries.contains(name), IoError,
             path << ": duplicate or reserved tensor name '" << name << "'");
    MC_CHECK(a.bytes.size() == tensor_byte_count(a.shape, a.dtype, path + ": tensor '" + name + "'"), IoError,
             path << ": tensor '" << name << "' has " << a.bytes.size() << " bytes for shape " << to_string(a.shape)
                  << " of " << a.dtype);
    entries[name] = {{"dtype", safetensors_dtype(a.dtype)}, {"shape", a.shape}, {"data_offsets", {offset, offset + a.bytes.size()}}};
    offset += a.bytes.size();
    stored[kCrcPrefix + name] = crc32_hex(crc32_zlib(a.bytes.data(), a.bytes.size()));
  }
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  header["__metadata__"] = stored;
  for (auto it = entries.begin(); it != entries.end(); ++it) header[it.key()] = it.value();
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

namespace {

struct Extent {
  uint64_t begin, end;
  std::string name;
};

// The tensors must tile the data section exactly: sorted by offset, each starts where the
// previous one ended, the last ends at the end of the file. This refuses overlaps (two
// tensors aliasing the same bytes), gaps (bytes nobody owns) and trailing garbage.
void check_tiling(std::vector<Extent> extents, uint64_t data_size, const std::string& path) {
  std::sort(extents.begin(), extents.end(),
            [](const Extent& a, const Extent& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  uint64_t expected = 0;
  const Extent* previous = nullptr;
  for (const Extent& e : extents) {
    MC_CHECK(e.begin >= expected, IoError,
             path << ": tensor '" << e.name << "' (bytes [" << e.begin << ", " << e.end << ")) overlaps tensor '"
                  << previous->name << "' (bytes [" << previous->begin << ", " << previous->end
                  << ")): tensors must not share bytes");
    MC_CHECK(e.begin == expected, IoError,
             path << ": bytes [" << expected << ", " << e.begin << ") of the data section belong to no tensor (before tensor '"
                  << e.name << "'): corrupt offsets");
    expected = e.end;
    previous = &e;
  }
  MC_CHECK(expected == data_size, IoError,
           path << ": the data section has " << data_size << " bytes but the tensors cover " << expected
                << " (trailing bytes after the last tensor: corrupt offsets or a damaged file)");
}

}  // namespace

SafetensorsContents read_safetensors(const std::string& path) {
  const std::string file = read_file(path);
  MC_CHECK(file.size() >= 8, IoError,
           path << ": truncated file (" << file.size() << " bytes; a checkpoint starts with an 8-byte header length)");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(file[static_cast<size_t>(i)])) << (8 * i);
  MC_CHECK(n <= file.size() - 8, IoError,
           path << ": header length " << n << " goes beyond the file (" << file.size()
                << " bytes): truncated or not a safetensors checkpoint");
  // The JSON object, then only the space padding: any other byte there (a flipped bit turns a
  // space into a NUL, which the JSON parser would take for the end of its input) is damage.
  const std::string text = file.substr(8, n);
  const size_t last = text.find_last_not_of(' ');
  MC_CHECK(last != std::string::npos && text[last] == '}', IoError,
           path << ": the header does not end in '}' followed by space padding (byte " << (last == std::string::npos ? 8 : 8 + last)
                << " is not part of a JSON object): a damaged file or not a safetensors checkpoint");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text.substr(0, last + 1));
  } catch (const nlohmann::json::exception& e) {
    throw IoError(path + ": malformed header JSON: " + e.what());
  }
  MC_CHECK(header.is_object(), IoError, path << ": header is not a JSON object");
  const size_t data_start = 8 + n, data_size = file.size() - data_start;
  SafetensorsContents out;
  std::map<std::string, std::string> stored;  // every __metadata__ entry, checksums included
  std::vector<Extent> extents;
  for (auto it = header.begin(); it != header.end(); ++it) {
    try {
      if (it.key() == "__metadata__") {
        MC_CHECK(it.value().is_object(), IoError, path << ": __metadata__ is not a JSON object");
        for (auto m = it.value().begin(); m != it.value().end(); ++m) stored[m.key()] = m.value().get<std::string>();
        continue;
      }
      const nlohmann::json& e = it.value();
      MC_CHECK(e.is_object(), IoError, path << ": header entry '" << it.key() << "' is not a JSON object");
      NpyArray a;
      try {
        a.dtype = npy_dtype_from_safetensors(e.at("dtype").get<std::string>());
      } catch (const IoError& ex) {
        throw IoError(path + ": tensor '" + it.key() + "': " + ex.what());
      }
      for (const nlohmann::json& d : e.at("shape")) {
        MC_CHECK(d.is_number_integer() && (d.is_number_unsigned() || d.get<int64_t>() >= 0), IoError,
                 path << ": tensor '" << it.key() << "' has a bad extent " << d.dump() << " in its shape "
                      << e.at("shape").dump());
        MC_CHECK(d.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX), IoError,
                 path << ": tensor '" << it.key() << "' has extent " << d.dump() << " beyond 2^63 - 1");
        a.shape.push_back(d.get<int64_t>());
      }
      const nlohmann::json& offsets = e.at("data_offsets");
      MC_CHECK(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(),
               IoError, path << ": tensor '" << it.key() << "' has bad data_offsets " << offsets.dump()
                             << " (expected [begin, end], non-negative integers)");
      const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
      MC_CHECK(begin <= end, IoError,
               path << ": tensor '" << it.key() << "' has data_offsets [" << begin << ", " << end << "] that end before they begin");
      MC_CHECK(end <= data_size, IoError,
               path << ": truncated file: tensor '" << it.key() << "' needs bytes [" << begin << ", " << end
                    << ") of the data section, which has only " << data_size << " bytes (or its offsets are corrupt)");
      const size_t needed = tensor_byte_count(a.shape, a.dtype, path + ": tensor '" + it.key() + "'");
      MC_CHECK(end - begin == needed, IoError,
               path << ": tensor '" << it.key() << "' holds " << end - begin << " bytes, but shape " << to_string(a.shape)
                    << " of " << e.at("dtype").get<std::string>() << " needs " << needed);
      a.bytes.resize(end - begin);
      if (!a.bytes.empty()) std::memcpy(a.bytes.data(), file.data() + data_start + begin, a.bytes.size());
      extents.push_back({begin, end, it.key()});
      out.tensors.emplace(it.key(), std::move(a));
    } catch (const nlohmann::json::exception& ex) {
      throw IoError(path + ": malformed header entry '" + it.key() + "': " + ex.what());
    }
  }
  check_tiling(std::move(extents), data_size, path);
  verify_checksums(stored, out, path);
  return out;
}

}  // namespace mc
