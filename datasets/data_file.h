// Which copy of a dataset file a loader reads, and whether its contents are the file it is
// named as: the checks shared by the CIFAR-10 and PTB loaders.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace mc::data {

// <folder>/<name> or <folder>/<name>.gz, "" when neither exists. When both exist their
// uncompressed contents must be identical (a stale plain copy beside a newer .gz, or the
// reverse, would otherwise be read silently): IoError naming both files when they differ.
std::string find_plain_or_gzip(const std::filesystem::path& folder, const std::string& name);

// IoError when the uncompressed contents (size and CRC-32) of the file at `path`, loaded as
// the official `name` of `dataset`, are those of another official file: valid and test
// swapped, a training batch copied over the test batch.
void check_not_another_known_file(std::string_view dataset, const std::string& name, const std::string& path,
                                  uint64_t bytes, uint32_t crc32);

// True when size and CRC-32 are those the official `name` has (false for unknown names).
bool is_official_copy(const std::string& name, uint64_t bytes, uint32_t crc32);

}  // namespace mc::data
