// CIFAR-10 in the official binary layout: data_batch_1..5.bin (train) and test_batch.bin, each
// 10000 records of 1 label byte + 3072 pixel bytes (R plane, G plane, B plane; 32x32 row-major).
//
//   Cifar10Split train = load_cifar10(data_dir + "/cifar10", Cifar10Part::Train);  // 50000 images
//   const uint8_t* img = train.image(0);  // (3, 32, 32) uint8, CHW
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mc::data {

constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarChannels = 3;
constexpr int64_t kCifarImageBytes = kCifarChannels * kCifarSide * kCifarSide;  // 3072
constexpr int64_t kCifarRecordBytes = 1 + kCifarImageBytes;                      // 3073
constexpr int kCifarClasses = 10;
constexpr int64_t kCifarRecordsPerFile = 10000;  // every official batch file

enum class Cifar10Part { Train, Test };

struct Cifar10Split {
  std::vector<uint8_t> pixels;  // (N, 3, 32, 32) uint8, the record layout without label bytes
  std::vector<uint8_t> labels;  // (N) in 0..9
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * kCifarImageBytes; }
};

// The batch file names of a part, in the order their records are concatenated.
std::vector<std::string> cifar10_files(Cifar10Part part);

// Reads a part from `dir`, which holds the batch files plain (.bin) or gzipped (.bin.gz),
// directly or in a cifar-10-batches-bin/ subfolder, or else the official
// cifar-10-binary.tar.gz as downloaded. IoError naming the file and byte offset for a
// truncated file, a label out of 0..9, a broken gzip stream or an empty file; IoError listing
// what was looked for when nothing is there. Each file must hold `records_per_file` records
// (0: any number, the same in every file of the part); two files of the part with identical
// contents, a file holding the contents of another official batch file (the test batch
// replaced by a training batch), an altered file beside official ones, and a plain .bin
// beside a .bin.gz that differs from it are IoErrors naming the files.
Cifar10Split load_cifar10(const std::string& dir, Cifar10Part part, int64_t records_per_file = kCifarRecordsPerFile);

// The same parsing on bytes in memory (plain records or gzip), for the fuzzer and tests;
// `name` is used in error messages. Appends to `out`.
void parse_cifar10(std::string_view bytes, const std::string& name, Cifar10Split& out);
// A part out of a tar (or tar.gz) archive held in memory.
Cifar10Split parse_cifar10_archive(std::string_view bytes, const std::string& name, Cifar10Part part);

}  // namespace mc::data
