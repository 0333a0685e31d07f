#include "matcomp/datasets/data_file.h"

#include <algorithm>

#include "matcomp/core/error.h"
#include "matcomp/datasets/byte_stream.h"
#include "matcomp/datasets/known_files.h"

namespace mc::data {

namespace fs = std::filesystem;

std::string find_plain_or_gzip(const fs::path& folder, const std::string& name) {
  const fs::path plain = folder / name, gz = folder / (name + ".gz");
  const bool has_plain = fs::is_regular_file(plain), has_gz = fs::is_regular_file(gz);
  if (has_plain && has_gz) {
    const std::string a = read_all(*open_input(plain.string())), b = read_all(*open_input(gz.string()));
    if (a != b) {
      const auto diff = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
      throw IoError(plain.string() + " and " + gz.string() + " both exist and differ (" + std::to_string(a.size()) +
                    " and " + std::to_string(b.size()) + " bytes uncompressed, first difference at byte " +
                    std::to_string(diff.first - a.begin()) +
                    "): one of them is stale; remove it (`matcomp-data verify` tells which one is the official file)");
    }
  }
  if (has_plain) return plain.string();
  if (has_gz) return gz.string();
  return {};
}

void check_not_another_known_file(std::string_view dataset, const std::string& name, const std::string& path,
                                  uint64_t bytes, uint32_t crc32) {
  const KnownFile* other = find_known_content(dataset, bytes, crc32);
  MC_CHECK(other == nullptr || other->name == name, IoError,
           path << ": holds the contents of the official " << other->name << ", not of " << name
                << " (a swapped or copied file; `matcomp-data verify` checks every file)");
}

bool is_official_copy(const std::string& name, uint64_t bytes, uint32_t crc32) {
  const KnownFile* known = find_known_file(name);
  return known != nullptr && known->bytes == bytes && known->crc32 == crc32;
}

}  // namespace mc::data
