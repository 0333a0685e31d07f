// Checking the dataset files in a data folder against the published checksums
// (what `matcomp-data verify` runs).
#pragma once

#include <string>
#include <vector>

#include "matcomp/datasets/checksum.h"
#include "matcomp/datasets/known_files.h"

namespace mc::data {

struct FileCheck {
  enum class Status { Ok, Missing, Mismatch, Unreadable };
  std::string dataset;  // "cifar10" / "ptb"
  std::string name;     // "data_batch_1.bin"
  std::string path;     // where it was found ("" when missing)
  Status status = Status::Missing;
  std::string detail;   // what differs, or the read error
};

// One entry per known file of the datasets in `only` ("cifar10", "ptb"; empty = both). A file
// counts as found as <name>, <name>.gz, for CIFAR-10 also under cifar-10-batches-bin/, or as a
// member of cifar10/cifar-10-binary.tar.gz. Sizes, MD5 and SHA-256 are of the uncompressed
// bytes.
std::vector<FileCheck> verify_data_dir(const std::string& data_dir, const std::vector<std::string>& only = {});

// The path where a known file is present in the data folder ("" when it is not).
std::string locate_known_file(const std::string& data_dir, const std::string& dataset, const std::string& name);

const char* to_string(FileCheck::Status status);

// "" when the digests are the published ones, else what differs.
std::string mismatch_detail(const KnownFile& expected, const Digests& got);

}  // namespace mc::data
